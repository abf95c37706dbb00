/** @type {import('tailwindcss').Config} */
export default {
  content: ['./index.html', './src/**/*.{ts,tsx}'],
  theme: {
    extend: {
      colors: {
        brand: { 50: '#e7f8f1', 100: '#c3eedc', 500: '#00a884', 600: '#008f72', 700: '#017561', 900: '#0b3d33' },
        chat: { bg: '#efeae2', out: '#d9fdd3', in: '#ffffff', note: '#fff5c4', panel: '#f0f2f5', tick: '#53bdeb' },
      },
      fontFamily: { sans: ['"Segoe UI"', 'Helvetica Neue', 'Helvetica', 'Arial', 'sans-serif'] },
    },
  },
  plugins: [],
};
