/** The whole stylesheet, served at /style.css. */
export const STYLESHEET = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0b5fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: .75rem 1.5rem; display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; }
header a, header button { color: #fff; text-decoration: none; font: inherit; }
header .brand { font-weight: 700; margin-right: auto; }
header form { margin: 0; }
header button { background: none; border: 1px solid #8c959f; border-radius: 6px; padding: .15rem .6rem; cursor: pointer; }
main { max-width: 46rem; margin: 2rem auto; padding: 0 1.5rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.25rem 1.5rem; margin-bottom: 1.25rem; }
.card > :first-child { margin-top: 0; }
.card > :last-child { margin-bottom: 0; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
label.check { font-weight: 400; display: flex; gap: .5rem; align-items: center; }
input[type=text], input[type=password] { width: 100%; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
button.primary { margin-top: 1rem; background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: .5rem 1rem; font: inherit; cursor: pointer; }
.counter { font-size: 2.5rem; font-weight: 700; margin: 0; }
.muted { color: var(--muted); }
code { background: #eff2f5; padding: 0 .25rem; border-radius: 4px; }
ul.messages { list-style: none; padding: 0; margin: 0 0 1.25rem; }
ul.messages li { padding: .6rem 1rem; border-radius: 6px; margin-bottom: .5rem; border-left: 4px solid #8c959f; }
ul.messages .debug { background: #eff2f5; border-left-color: #8c959f; }
ul.messages .info { background: #ddf4ff; border-left-color: #0969da; }
ul.messages .success { background: #dafbe1; border-left-color: #1a7f37; }
ul.messages .warning { background: #fff8c5; border-left-color: #9a6700; }
ul.messages .error { background: #ffebe9; border-left-color: #cf222e; }
`;
