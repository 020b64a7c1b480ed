"""The review page's HTML: one self-contained document (no external resources), keyboard first."""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twitchcam review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
 header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:10px 18px;z-index:2}
 header h1{font-size:18px;margin:0 0 4px}
 .keys{color:#555;font-size:13px} kbd{border:1px solid #bbb;border-radius:3px;padding:0 4px;background:#fafafa}
 #counts{font-size:13px;margin-top:4px}
 main{padding:12px 18px}
 .ev{display:grid;grid-template-columns:170px 1fr 150px;gap:12px;align-items:center;background:#fff;
     border:1px solid #ddd;border-left:6px solid #bbb;border-radius:4px;padding:8px 12px;margin:0 0 8px}
 .ev.left{border-left-color:#1f77b4} .ev.right{border-left-color:#d62728}
 .ev.sel{outline:3px solid #f5a623}
 .ev .when{font-variant-numeric:tabular-nums} .ev .meta{color:#666;font-size:12px}
 .ev img.strip{max-width:100%;image-rendering:pixelated;border-radius:3px}
 .ev .nostrip{color:#999;font-size:13px}
 .dec{font-weight:600;text-align:center;border-radius:4px;padding:4px}
 .dec.confirmed{background:#dff3df;color:#1a6b1a} .dec.rejected{background:#f8dcdc;color:#8b1c1c}
 .dec.unreviewed{background:#eee;color:#666}
 #player{position:fixed;right:18px;bottom:18px;max-width:45vw;border:2px solid #333;background:#000;display:none}
 #err{color:#8b1c1c;font-weight:600}
</style></head><body>
<header><h1>Review one-sided events</h1>
<div class="keys"><kbd>y</kbd> confirm &nbsp; <kbd>n</kbd> reject &nbsp; <kbd>s</kbd> other side (confirms)
 &nbsp; <kbd>u</kbd> undo decision &nbsp; <kbd>j</kbd>/<kbd>&darr;</kbd> next &nbsp; <kbd>k</kbd>/<kbd>&uarr;</kbd> previous
 &nbsp; <kbd>space</kbd> play the clip. Each decision is saved at once.</div>
<div id="counts"></div><div id="err"></div></header>
<main id="list"><p>Loading…</p></main>
<img id="player" alt="clip around the selected event">
<script>
const token = new URLSearchParams(location.search).get("t");
const q = "?t=" + encodeURIComponent(token);
let items = [], sel = 0;
const fmt = s => { const m = Math.floor(s / 60); return m + ":" + (s - 60 * m).toFixed(2).padStart(5, "0"); };
const side = s => s === "left" ? "patient's left" : s === "right" ? "patient's right" : s;
function render() {
  const list = document.getElementById("list");
  if (!items.length) { list.innerHTML = "<p>No one-sided events in these sessions: nothing to review.</p>"; }
  else list.innerHTML = items.map((it, k) => `
   <div class="ev ${it.side}${k === sel ? " sel" : ""}" id="ev${k}" data-k="${k}">
    <div><div class="when">${fmt(it.onset_s)} · ${it.duration_s.toFixed(2)} s</div>
     <div><b>${side(it.side)}</b>${it.side !== it.detected_side ? " (detected " + it.detected_side + ")" : ""}</div>
     <div class="meta">#${it.id} ${it.kind}${it.confidence === null ? "" : " · confidence " + it.confidence.toFixed(2)}
      · ${it.name}</div></div>
    <div>${it.strip ? `<img class="strip" loading="lazy" alt="eyes around event ${it.id}"
       src="/strip/${it.session}/${it.id}.png${q}">` : '<span class="nostrip">no evidence strip (analyse with --evidence)</span>'}</div>
    <div class="dec ${it.decision || "unreviewed"}">${it.decision || "unreviewed"}</div></div>`).join("");
  const n = {left: [0, 0, 0], right: [0, 0, 0]};
  for (const it of items) { const c = n[it.detected_side]; if (!c) continue;
    c[it.decision === "confirmed" ? 0 : it.decision === "rejected" ? 1 : 2]++; }
  document.getElementById("counts").textContent = ["left", "right"].map(s =>
    `${side(s)}: ${n[s][0]} confirmed, ${n[s][1]} rejected, ${n[s][2]} unreviewed`).join("  ·  ");
  const el = document.getElementById("ev" + sel); if (el) el.scrollIntoView({block: "nearest"});
}
async function load() {
  const r = await fetch("/api/items" + q); items = await r.json(); render();
}
async function decide(change) {
  const it = items[sel]; if (!it) return;
  const r = await fetch("/api/decide" + q, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(Object.assign({session: it.session, id: it.id}, change))});
  const data = await r.json();
  document.getElementById("err").textContent = r.ok ? "" : data.error;
  if (r.ok) { items[sel] = data; if (sel < items.length - 1) sel++; render(); }
}
function play() {
  const it = items[sel], p = document.getElementById("player"); if (!it) return;
  if (!it.clip) { document.getElementById("err").textContent = "the video of this session is not there"; return; }
  p.style.display = "block"; p.src = `/clip/${it.session}/${it.id}${q}&n=${Date.now()}`;
}
document.addEventListener("keydown", ev => {
  const k = ev.key;
  if (k === "y") decide({decision: "confirmed"});
  else if (k === "n") decide({decision: "rejected"});
  else if (k === "u") decide({decision: ""});
  else if (k === "s") { const it = items[sel]; if (it) decide({side: it.side === "left" ? "right" : "left"}); }
  else if (k === "j" || k === "ArrowDown") { sel = Math.min(items.length - 1, sel + 1); render(); }
  else if (k === "k" || k === "ArrowUp") { sel = Math.max(0, sel - 1); render(); }
  else if (k === " ") play();
  else return;
  ev.preventDefault();
});
document.addEventListener("click", ev => { const e = ev.target.closest(".ev"); if (e) { sel = +e.dataset.k; render(); } });
load();
</script></body></html>
"""
