/** Saves an experiment exported as a PyTorch program as one .zip through the browser's download. */
import { strToU8, zipSync } from 'fflate';
import type { PytorchExportFiles } from '../export/pytorch';
import { downloadBlob } from './export';

/** `my-run-pytorch`: the zip's name and the folder its files unzip into, so they land together. */
export function pytorchFolderName(runName: string): string {
  return `${runName}-pytorch`.replace(/[^\w.-]+/g, '_');
}

export function downloadPytorchExport(runName: string, files: PytorchExportFiles): void {
  const folder = pytorchFolderName(runName);
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [`${folder}/${name}`, strToU8(text)])));
  downloadBlob(new Blob([zip], { type: 'application/zip' }), `${folder}.zip`);
}
