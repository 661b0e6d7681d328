"""The console's stylesheet (issue 21), served at /ui/style.css: readable at 1366x768, AA
contrast (checked with axe-core in the browser test), visible keyboard focus."""

CSS = """\
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;color:#1b1f24;
  background:#f4f6f8;line-height:1.45}
a{color:#0b4f9c}
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid #c25e00;
  outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:2}
header.top{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center;background:#0d3b66;
  color:#fff;padding:8px 20px}
header.top a,header.top .who{color:#fff}
header.top .brand{font-weight:700;font-size:1.1rem}
header.top nav ul{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;margin:0;padding:0}
header.top form{display:inline;margin:0}
main{padding:12px 20px;max-width:100%}
h1{font-size:1.4rem;margin:8px 0}
h2{font-size:1.15rem;margin:22px 0 6px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;
  margin-bottom:14px}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th,td{border-bottom:1px solid #d0d7de;padding:5px 6px;text-align:left;vertical-align:top;
  overflow-wrap:anywhere;word-break:break-word}
th{background:#e8eef4;font-weight:600}
td form{margin:2px 0}
small,.muted{color:#4a535c}
.flash{background:#e6f4ea;border:1px solid #1e7b34;padding:8px;border-radius:4px}
.err{background:#fdecea;border:1px solid #b3261e;padding:8px;border-radius:4px}
.filters{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:flex-end;margin:6px 0}
.filters label{display:flex;flex-direction:column;font-size:.9rem}
input,select,button{font:inherit;padding:3px 6px;border:1px solid #6b7580;border-radius:4px;
  max-width:100%}
button{background:#0d3b66;color:#fff;border-color:#0d3b66;cursor:pointer}
button.secondary{background:#fff;color:#0d3b66}
button.danger{background:#b3261e;border-color:#b3261e}
.pager{display:flex;gap:14px;align-items:center;margin:6px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card h3{font-size:.95rem;margin:0 0 4px}
.card.wide{grid-column:span 2}
.card table{table-layout:auto}
.card th,.card td{padding:2px 4px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px;background:#fbfcfd}
.card .num{font-size:1.5rem;font-weight:700}
.card svg{display:block;margin-top:4px}
.inline{display:inline}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:8px;
  border:1px solid #d0d7de;max-height:40em;overflow:auto}
dl.kv{display:grid;grid-template-columns:14em 1fr;gap:4px 12px}
dl.kv dt{font-weight:600}
dl.kv dd{margin:0;overflow-wrap:anywhere}
.login{max-width:24em;margin:40px auto}
.login label{display:block;margin:8px 0}
.login input{width:100%}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
"""
