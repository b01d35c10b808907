import { mount } from 'svelte';
import App from './App.svelte';
import './lib/ui/global.css';

mount(App, { target: document.getElementById('app')! });
