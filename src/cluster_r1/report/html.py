"""One self-contained HTML file per clustering: facts, clusters with every text, the map, the reasoning, scores.

Nothing is fetched when the page is viewed: the data (JSON), the style and a small script
(plain JavaScript, no library) are inside the file, which opens from ``file://``. Every string
from the data or a model goes into the page as JSON (``<``, ``>``, ``&`` and the line
separators escaped, so no text can close the script element) and into the document only
through ``textContent``: a text ``<script>...`` or ``<img onerror=...>`` shows as text.

Large corpora stay fast: texts are rendered a page at a time per cluster (search runs over
the data, not the document), and the map draws at most ``max_points`` texts (a sample
stratified by cluster) on a canvas, with the nearest text shown on hover.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Clustering

__all__ = ["report_data", "render_report", "write_report", "project", "heatmap", "eval_page", "embed_json"]


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no line separators.

    >>> embed_json({"t": "</script><b>&"})
    '{"t": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return text


#: Texts laid out by the nonlinear method itself; the others are placed by their nearest laid-out neighbours.
LAYOUT_FIT = 2000


def _stratified(labels: np.ndarray, idx: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``size`` of the rows ``idx``, each cluster in proportion to its share (at least one each)."""
    if len(idx) <= size:
        return idx
    keep: list[int] = []
    sub = labels[idx]
    for c in np.unique(sub):
        members = idx[sub == c]
        share = max(1, int(round(size * len(members) / len(idx))))
        keep += rng.choice(members, size=min(share, len(members)), replace=False).tolist()
    return np.sort(np.asarray(keep[:size] if len(keep) > size else keep))


def project(
    x: np.ndarray, labels: Sequence[int] | np.ndarray, *, max_points: int = 100_000, fit_points: int = LAYOUT_FIT,
    seed: int = 0,
) -> dict[str, list]:
    """2-D map of the rows of ``x`` (at most ``max_points``, a sample stratified by cluster beyond): a nonlinear
    layout of ``fit_points`` of them (UMAP when the ``umap`` extra is installed, else scikit-learn's t-SNE on a
    50-d PCA), every other row placed at the similarity-weighted mean of its 5 nearest laid-out rows. Returns
    ``{"x", "y", "i"}`` (i = 0-based text index), coordinates in [0, 1]."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    idx = _stratified(labels, np.arange(len(x)), max_points, rng)
    pts = np.asarray(x[idx], dtype=np.float32)
    if len(idx) < 4:
        xy = np.zeros((len(idx), 2)) if len(idx) < 2 else np.column_stack([np.arange(len(idx)), np.zeros(len(idx))])
    else:
        from sklearn.decomposition import PCA

        reduced = PCA(n_components=min(50, pts.shape[1], len(idx)), random_state=seed).fit_transform(pts)
        reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
        fit = np.searchsorted(idx, _stratified(labels, idx, fit_points, rng))
        xy = np.zeros((len(idx), 2))
        xy[fit] = _nonlinear(reduced[fit], seed)
        rest = np.setdiff1d(np.arange(len(idx)), fit)
        for start in range(0, len(rest), 4096):  # the others: by their nearest laid-out neighbours
            rows = rest[start:start + 4096]
            sims = reduced[rows] @ reduced[fit].T
            near = np.argpartition(-sims, min(5, len(fit) - 1), axis=1)[:, :5]
            w = np.maximum(np.take_along_axis(sims, near, axis=1), 0) + 1e-6
            xy[rows] = (w[:, :, None] * xy[fit][near]).sum(1) / w.sum(1, keepdims=True)
    xy = np.asarray(xy, dtype=np.float64)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9) if len(xy) else np.ones(2)
    xy = (xy - xy.min(axis=0)) / span if len(xy) else xy
    return {"x": np.round(xy[:, 0], 4).tolist(), "y": np.round(xy[:, 1], 4).tolist(), "i": idx.tolist()}


def _nonlinear(pts: np.ndarray, seed: int) -> np.ndarray:
    """UMAP of ``pts`` where installed, else t-SNE (cosine, PCA start)."""
    n = len(pts)
    try:
        import umap

        return np.asarray(umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, n - 1)).fit_transform(pts))
    except ImportError:
        from sklearn.manifold import TSNE

        return np.asarray(TSNE(n_components=2, perplexity=max(2.0, min(30.0, (n - 1) / 3)), init="pca",
                               metric="cosine", random_state=seed).fit_transform(pts))


#: The heatmap shows at most this many clusters and gold classes (the rest summed into one row / column).
HEATMAP_CAP = 30


def heatmap(labels: Sequence[int], gold: Sequence[Any], n_clusters: int) -> dict[str, Any]:
    """The contingency of clusters (1-based ``labels``) against gold classes, rows and columns matched (Hungarian:
    each row's matched class on its diagonal, largest first) and capped at :data:`HEATMAP_CAP` each."""
    from scipy.optimize import linear_sum_assignment

    classes = sorted({str(g) for g in gold})
    col = {g: j for j, g in enumerate(classes)}
    m = np.zeros((n_clusters, len(classes)), dtype=np.int64)
    for lab, g in zip(labels, gold, strict=True):
        m[lab - 1, col[str(g)]] += 1
    r, c = linear_sum_assignment(-m)
    pairs = sorted(zip(r.tolist(), c.tolist(), strict=True), key=lambda p: -m[p[0], p[1]])
    rows = [p[0] for p in pairs] + sorted(set(range(n_clusters)) - set(r.tolist()), key=lambda i: -m[i].sum())
    cols = [p[1] for p in pairs] + sorted(set(range(len(classes))) - set(c.tolist()), key=lambda j: -m[:, j].sum())
    shown_r, rest_r = rows[:HEATMAP_CAP], rows[HEATMAP_CAP:]
    shown_c, rest_c = cols[:HEATMAP_CAP], cols[HEATMAP_CAP:]
    grid = m[np.ix_(shown_r, shown_c)]
    if rest_c:
        grid = np.column_stack([grid, m[np.ix_(shown_r, rest_c)].sum(1)])
    if rest_r:
        extra = m[np.ix_(rest_r, shown_c)].sum(0)
        if rest_c:
            extra = np.append(extra, m[np.ix_(rest_r, rest_c)].sum())
        grid = np.vstack([grid, extra])
    return {"rows": shown_r, "rest_rows": len(rest_r), "classes": [classes[j] for j in shown_c],
            "rest_classes": len(rest_c), "matrix": grid.tolist()}


def report_data(
    result: Clustering,
    texts: Sequence[str],
    *,
    vectors: np.ndarray | None = None,
    labels_true: Sequence[Any] | None = None,
    max_points: int = 100_000,
    title: str = "",
    instruction: str = "",
) -> dict[str, Any]:
    """Everything the page shows, as plain data."""
    n = result.n_texts
    if len(texts) != n:
        from ..errors import InputError

        raise InputError(f"the result holds {n} texts but {len(texts)} were given: pass the file that was clustered")
    u = result.usage
    facts = {"texts": n, "clusters": result.n_clusters, "method": result.method, "model": result.model,
             "calls": u.calls, "tokens": u.prompt_tokens + u.completion_tokens, "seconds": round(u.seconds, 1)}
    if result.stability is not None:
        facts["stability"] = round(result.stability, 3)
    data: dict[str, Any] = {
        "title": title or f"{result.n_clusters} clusters of {n} texts",
        "instruction": instruction,
        "facts": facts,
        "notes": list(result.notes),
        "reasoning": result.reasoning,
        "clusters": [{"id": c.id, "name": c.name, "description": c.description, "criterion": c.criterion,
                      "size": c.size, "items": c.items} for c in result.clusters],
        "texts": list(texts),
        "placement": result.placement,
        "confidence": result.confidence,
        "map": None,
        "gold": None,
        "levels": _levels(result),
    }
    if vectors is not None and len(vectors) == n:
        data["map"] = project(np.asarray(vectors), [lab - 1 for lab in result.labels], max_points=max_points)
        data["map"]["cluster"] = [result.labels[i] - 1 for i in data["map"]["i"]]
    if labels_true is not None:
        from ..metrics import score_labels

        if len(labels_true) != n:
            from ..errors import InputError

            raise InputError(f"{len(labels_true)} gold labels for {n} texts: give one label per text, in order")
        s = score_labels(labels_true, result.labels)
        data["gold"] = {"v": s.v_measure, "homogeneity": s.homogeneity, "completeness": s.completeness, "nmi": s.nmi,
                        "ari": s.ari, "k": s.k_pred, "k_gold": s.k_true,
                        **heatmap(result.labels, labels_true, result.n_clusters)}
    return data


def _levels(result: Clustering) -> dict[str, Any] | None:
    """The hierarchy as the page draws it: each level's clusters (name, size, 0-based parent) from the top, which
    level the answer is, and each answer cluster's top-level topic (for the map's colours)."""
    if not result.levels or result.level is None:
        return None
    levels = [[{"name": c.name, "size": c.size, "parent": None if p is None else p - 1}
               for c, p in zip(lv.clusters, lv.parents, strict=True)] for lv in result.levels]
    top = list(range(len(levels[result.level - 1])))
    for i in range(result.level - 1, 0, -1):  # climb from the answer's level to the top
        top = [int(result.levels[i].parents[t] or 1) - 1 for t in top]
    return {"levels": levels, "answer": result.level - 1, "top": top}


def render_report(data: dict[str, Any]) -> str:
    """The HTML page for :func:`report_data`'s data."""
    rest = {k: v for k, v in data.items() if k != "map"}
    return (_PAGE.replace("__TITLE__", html.escape(str(data.get("title", "cluster-r1 report"))))
            .replace("__STYLE__", _STYLE).replace("__SCRIPT__", _SCRIPT).replace("__DATA__", embed_json(rest))
            .replace("__MAP__", embed_json(data.get("map"))))


def write_report(
    path: str | Path,
    result: Clustering,
    texts: Sequence[str],
    *,
    vectors: np.ndarray | None = None,
    labels_true: Sequence[Any] | None = None,
    instruction: str = "",
    max_points: int = 100_000,
) -> Path:
    """Write the report for ``result`` to ``path`` (atomically)."""
    from ..io import write_atomic

    data = report_data(result, texts, vectors=vectors, labels_true=labels_true, instruction=instruction,
                       max_points=max_points)
    write_atomic(path, render_report(data))
    return Path(path)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__STYLE__</style>
</head><body>
<header><h1 id="title"></h1><p id="instruction"></p><table id="facts"></table><ul id="notes"></ul></header>
<section id="scores" hidden><h2>Against the gold labels</h2><table id="score-table"></table>
<div class="scroll"><table id="heatmap"></table></div></section>
<section id="tree-section" hidden><h2>Topics, level by level</h2><p class="hint" id="tree-hint"></p>
<div id="tree"></div></section>
<section><h2>Clusters</h2>
<input id="search" type="search" placeholder="search the texts" autocomplete="off">
<span id="found"></span>
<div id="clusters"></div></section>
<section id="map-section" hidden><h2>Map</h2><p class="hint" id="map-hint"></p>
<div class="map-wrap"><canvas id="map" width="900" height="520"></canvas><div id="tip" hidden></div></div>
<div id="legend"></div></section>
<section id="reasoning-section" hidden><details><summary>The model's reasoning</summary><pre id="reasoning"></pre>
</details></section>
<footer>cluster-r1 report: one file, nothing loaded from the network.</footer>
<script type="application/json" id="data">__DATA__</script>
<script type="application/json" id="map-data">__MAP__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px;
color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
#facts td:first-child{color:#5b6475}#notes{color:#5b6475;margin:6px 0;padding-left:18px}
.cluster{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:8px 0;padding:4px 10px}
.cluster summary{cursor:pointer;padding:4px 0}.cluster .name{font-weight:600}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.meta,.hint,#found{color:#5b6475}.desc{color:#3d4556;margin:2px 0 6px}
ol.texts{margin:4px 0;padding-left:52px}ol.texts li{padding:2px 0;white-space:pre-wrap;word-break:break-word}
.tag{font-size:11px;color:#5b6475;margin-left:6px}
.pager button{margin-right:6px}#search{width:320px;padding:5px 8px;margin:4px 8px 4px 0}
.map-wrap{position:relative;display:inline-block}canvas{background:#fff;border:1px solid #dde1e8;max-width:100%}
#tip{position:absolute;max-width:360px;background:#1d2330;color:#fff;padding:6px 8px;border-radius:4px;
font-size:12px;pointer-events:none;white-space:pre-wrap}
#legend span{margin-right:12px;white-space:nowrap}.scroll{overflow:auto;max-height:480px}
#heatmap td,#heatmap th{padding:2px 5px;font-size:12px;text-align:right}#heatmap th{font-weight:500}
pre{white-space:pre-wrap;background:#fff;border:1px solid #dde1e8;padding:8px;border-radius:6px}
footer{color:#8a93a3;margin-top:28px;font-size:12px}
#tree details{margin-left:18px}#tree>details{margin-left:0}#tree .leaf{margin-left:34px;color:#3d4556}
#tree summary{cursor:pointer;padding:1px 0}#tree .answer{font-weight:600}#heatmap tr th:first-child{white-space:nowrap;
text-align:left;max-width:260px;overflow:hidden;text-overflow:ellipsis}
"""

_SCRIPT = r"""
(function(){
"use strict";
var t0=performance.now();
var D=JSON.parse(document.getElementById("data").textContent);
var PAGE=50;
function el(tag,text,cls){var e=document.createElement(tag);if(text!==undefined&&text!==null)e.textContent=String(text);
if(cls)e.className=cls;return e;}
function hue(k){return (k*137.508)%360;}
var SHADE=[];
(function(){var L=D.levels;if(!L){D.clusters.forEach(function(c,k){SHADE.push("hsl("+hue(k).toFixed(1)+",62%,48%)");});return;}
  var rank={},seen={};L.top.forEach(function(t,k){seen[t]=(seen[t]||0);rank[k]=seen[t]++;});
  L.top.forEach(function(t,k){var n=seen[t],r=rank[k],light=n>1?34+32*r/(n-1):46;
    SHADE.push("hsl("+hue(t).toFixed(1)+",62%,"+light.toFixed(0)+"%)");});})();
function color(k){return SHADE[k]||"#888";}
document.getElementById("title").textContent=D.title;
if(D.instruction)document.getElementById("instruction").textContent="Instruction: "+D.instruction;
var facts=document.getElementById("facts");
Object.keys(D.facts).forEach(function(k){var tr=el("tr");tr.appendChild(el("td",k));tr.appendChild(el("td",D.facts[k]));
facts.appendChild(tr);});
var notes=document.getElementById("notes");(D.notes||[]).forEach(function(n){notes.appendChild(el("li",n));});
var lower=D.texts.map(function(t){return t.toLowerCase();});
var query="";var state=[];
var box=document.getElementById("clusters");
D.clusters.forEach(function(c,k){
  var d=el("details",null,"cluster");d.dataset.cluster=String(k);if(k<3)d.open=true;
  var s=el("summary");var sw=el("span",null,"swatch");sw.style.background=color(k);s.appendChild(sw);
  s.appendChild(el("span",c.name,"name"));
  var share=(100*c.size/D.texts.length).toFixed(1);
  var meta=el("span","  "+c.size+" texts, "+share+"%"+(c.id!==null&&c.id!==undefined?", id "+c.id:""),"meta");
  s.appendChild(meta);d.appendChild(s);
  if(c.description)d.appendChild(el("div",c.description,"desc"));
  if(c.criterion)d.appendChild(el("div","Includes: "+c.criterion,"desc"));
  var ol=el("ol",null,"texts");d.appendChild(ol);
  var pager=el("div",null,"pager");d.appendChild(pager);
  box.appendChild(d);
  state.push({c:c,ol:ol,pager:pager,meta:meta,page:0,items:c.items});
});
function rows(st){
  var items=st.items,start=st.page*PAGE,end=Math.min(items.length,start+PAGE);
  st.ol.textContent="";st.ol.start=start+1;
  for(var j=start;j<end;j++){var i=items[j]-1;var li=el("li",D.texts[i]);li.dataset.item=String(i+1);
    var tag="#"+(i+1);if(D.placement)tag+=" "+D.placement[i];
    if(D.confidence)tag+=" "+Number(D.confidence[i]).toFixed(2);li.appendChild(el("span",tag,"tag"));st.ol.appendChild(li);}
  st.pager.textContent="";
  if(items.length>PAGE){
    var prev=el("button","previous");prev.disabled=st.page===0;prev.onclick=function(){st.page--;rows(st);};
    var next=el("button","next");next.disabled=end>=items.length;next.onclick=function(){st.page++;rows(st);};
    st.pager.appendChild(prev);st.pager.appendChild(next);
    st.pager.appendChild(el("span",(start+1)+"-"+end+" of "+items.length,"meta"));}
}
function apply(){
  var total=0;
  state.forEach(function(st){
    st.items=query?st.c.items.filter(function(it){return lower[it-1].indexOf(query)>=0;}):st.c.items;
    st.page=0;total+=st.items.length;rows(st);
    st.ol.parentNode.hidden=query!==""&&st.items.length===0;});
  document.getElementById("found").textContent=query?total+" texts match":"";
  document.body.dataset.visibleRows=String(document.querySelectorAll("ol.texts li").length);
  document.body.dataset.matches=String(total);
}
var timer=null;var search=document.getElementById("search");
search.addEventListener("input",function(){clearTimeout(timer);timer=setTimeout(function(){
  query=search.value.toLowerCase().trim();apply();},120);});
var m=/[#&]q=([^&]*)/.exec(location.hash);if(m){search.value=decodeURIComponent(m[1]);query=search.value.toLowerCase();}
apply();
if(D.reasoning){document.getElementById("reasoning-section").hidden=false;
  document.getElementById("reasoning").textContent=D.reasoning;}
if(D.gold){var g=D.gold;document.getElementById("scores").hidden=false;var st=document.getElementById("score-table");
  [["V-measure",g.v],["homogeneity",g.homogeneity],["completeness",g.completeness],["NMI",g.nmi],["ARI",g.ari]]
  .forEach(function(r){var tr=el("tr");tr.appendChild(el("td",r[0]));tr.appendChild(el("td",(100*r[1]).toFixed(1)));
  st.appendChild(tr);});
  var tr=el("tr");tr.appendChild(el("td","clusters (gold)"));tr.appendChild(el("td",g.k+" ("+g.k_gold+")"));st.appendChild(tr);
  var hm=document.getElementById("heatmap");var head=el("tr");head.appendChild(el("th","cluster \\ gold"));
  g.classes.forEach(function(c){head.appendChild(el("th",c));});
  if(g.rest_classes)head.appendChild(el("th","other "+g.rest_classes+" classes"));hm.appendChild(head);
  var mx=1,nr=g.matrix.length-(g.rest_rows?1:0);  // the summed "other" row and column do not set the scale
  g.matrix.slice(0,nr).forEach(function(r){r.slice(0,g.classes.length).forEach(function(v){if(v>mx)mx=v;});});
  g.matrix.forEach(function(r,j){var tr=el("tr");var k=g.rows[j];
    tr.appendChild(el("th",k===undefined?"other "+g.rest_rows+" clusters":D.clusters[k].name));
    r.forEach(function(v){var td=el("td",v||"");var a=Math.min(1,v/mx);td.style.background="rgba(37,99,235,"+a.toFixed(3)+")";
    if(a>0.55)td.style.color="#fff";tr.appendChild(td);});hm.appendChild(tr);});}
var M=JSON.parse(document.getElementById("map-data").textContent);
if(M&&M.x.length){
  document.getElementById("map-section").hidden=false;
  var cv=document.getElementById("map"),ctx=cv.getContext("2d"),W=cv.width,H=cv.height,pad=12;
  var P=M.x.length,px=new Float32Array(P),py=new Float32Array(P),MC=M.cluster;
  for(var j=0;j<P;j++){px[j]=pad+M.x[j]*(W-2*pad);py[j]=pad+(1-M.y[j])*(H-2*pad);}
  var cols=D.clusters.map(function(c,k){return color(k);});
  var R=P<300?3:(P<3000?2:(P<30000?1.5:1));
  var cx=new Float64Array(D.clusters.length),cy=new Float64Array(D.clusters.length),cn=new Int32Array(D.clusters.length);
  for(var j=0;j<P;j++){cx[MC[j]]+=px[j];cy[MC[j]]+=py[j];cn[MC[j]]++;}
  var named=D.clusters.map(function(c,k){return k;}).filter(function(k){return cn[k]>=Math.max(2,P/200);})
    .sort(function(a,b){return cn[b]-cn[a];}).slice(0,40);
  function names(hl){ctx.font="600 11px system-ui,sans-serif";ctx.textAlign="center";ctx.lineWidth=3;
    ctx.strokeStyle="rgba(255,255,255,0.9)";ctx.fillStyle="#1d2330";
    var boxes=[];  // largest clusters first; a name that would cover one already written is left to the legend
    named.forEach(function(k){if(hl!==undefined&&hl!==k)return;var t=D.clusters[k].name.slice(0,32);
      var w=ctx.measureText(t).width/2+2,x=Math.min(Math.max(cx[k]/cn[k],w),W-w),y=Math.min(Math.max(cy[k]/cn[k],12),H-4);
      if(hl===undefined&&boxes.some(function(b){return Math.abs(b[0]-x)<b[2]+w&&Math.abs(b[1]-y)<13;}))return;
      boxes.push([x,y,w]);ctx.strokeText(t,x,y);ctx.fillText(t,x,y);});
    cv.dataset.names=String(boxes.length);}
  function draw(hl){ctx.clearRect(0,0,W,H);for(var j=0;j<P;j++){var k=MC[j];
    ctx.globalAlpha=(hl===undefined||hl===k)?0.8:0.12;ctx.fillStyle=cols[k];ctx.fillRect(px[j]-R,py[j]-R,2*R,2*R);}
    ctx.globalAlpha=1;names(hl);}
  draw();cv.dataset.points=String(P);
  var G=24,grid={};for(var j=0;j<P;j++){var key=Math.floor(px[j]/G)+","+Math.floor(py[j]/G);(grid[key]=grid[key]||[]).push(j);}
  var tip=document.getElementById("tip");
  cv.addEventListener("mousemove",function(ev){var r=cv.getBoundingClientRect(),sx=W/r.width,sy=H/r.height;
    var x=(ev.clientX-r.left)*sx,y=(ev.clientY-r.top)*sy,best=-1,bd=64;
    var gx=Math.floor(x/G),gy=Math.floor(y/G);
    for(var a=-1;a<=1;a++)for(var b=-1;b<=1;b++){var cell=grid[(gx+a)+","+(gy+b)];if(!cell)continue;
      cell.forEach(function(j){var d=(px[j]-x)*(px[j]-x)+(py[j]-y)*(py[j]-y);if(d<bd){bd=d;best=j;}});}
    if(best<0){tip.hidden=true;return;}
    var i=M.i[best];tip.textContent=D.clusters[MC[best]].name+"\n"+D.texts[i].slice(0,300);
    tip.style.left=(ev.clientX-r.left+14)+"px";tip.style.top=(ev.clientY-r.top+10)+"px";tip.hidden=false;});
  cv.addEventListener("mouseleave",function(){tip.hidden=true;});
  var lg=document.getElementById("legend");
  D.clusters.forEach(function(c,k){var s=el("span");var sw=el("span",null,"swatch");sw.style.background=cols[k];
    s.appendChild(sw);s.appendChild(document.createTextNode(c.name));
    s.onmouseenter=function(){draw(k);};s.onmouseleave=function(){draw();};lg.appendChild(s);});
  document.getElementById("map-hint").textContent=(P<D.texts.length?P+" of "+D.texts.length+" texts shown":
    D.texts.length+" texts")+"; hover a point to read it, a legend entry to highlight its cluster.";
}
if(D.levels){var L=D.levels.levels,tree=document.getElementById("tree");document.getElementById("tree-section").hidden=false;
  var kids=L.map(function(lv,i){var out=lv.map(function(){return [];});
    if(i+1<L.length)L[i+1].forEach(function(c,j){out[c.parent].push(j);});return out;});
  function node(i,j,parent){var c=L[i][j];var open=i<D.levels.answer;
    var line=c.name+"  ("+c.size+" texts)",cls=i===D.levels.answer?" answer":"";
    if(i+1>=L.length||!kids[i][j].length){parent.appendChild(el("div",line,"leaf"+cls));return;}
    var d=el("details",null,"node");d.open=open;var sm=el("summary",line,cls.trim()||undefined);
    if(i===0){var sw=el("span",null,"swatch");sw.style.background="hsl("+hue(j).toFixed(1)+",62%,46%)";sm.prepend(sw);}
    d.appendChild(sm);kids[i][j].forEach(function(k){node(i+1,k,d);});parent.appendChild(d);}
  L[0].forEach(function(c,j){node(0,j,tree);});
  document.getElementById("tree-hint").textContent=L.length+" levels: "+L.map(function(lv){return lv.length;}).join(" / ")+
    " clusters, from the top; the answer is level "+(D.levels.answer+1)+" (in bold).";
  tree.dataset.nodes=String(tree.querySelectorAll("summary,.leaf").length);}
document.body.dataset.readyMs=String(Math.round(performance.now()-t0));
document.body.dataset.ready="1";
})();
"""


def eval_page(results: dict[str, Any]) -> str:
    """The eval harness's HTML page: the paper-layout tables with a bar per AVG and OVERALL cell."""
    agg = results.get("aggregates") or {}
    data = {"command": results.get("command", ""), "splits": list(agg.get("splits", [])), "methods": []}
    for row in agg.get("rows", []):
        data["methods"].append({"name": row.get("label", row.get("method", "")), "kind": row.get("kind", ""),
                                "avg": row.get("avg", {}), "overall": row.get("overall"),
                                "cells": {k: v.get("v") for k, v in row.get("cells", {}).items()}})
    return _EVAL_PAGE.replace("__DATA__", embed_json(data)).replace("__STYLE__", _STYLE)


_EVAL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cluster-r1 evaluation</title><style>__STYLE__
.bar{height:14px;display:inline-block;background:#2563eb;border-radius:2px;vertical-align:middle}
</style></head><body><h1>Evaluation</h1><p class="meta" id="command"></p>
<h2>V-measure x 100 by split (AVG over sources) and overall</h2><table id="avg"></table>
<h2>By source corpus and split</h2><div class="scroll"><table id="cells"></table></div>
<footer>cluster-r1 evaluation report: one file, nothing loaded from the network.</footer>
<script type="application/json" id="data">__DATA__</script>
<script type="application/json" id="map-data">__MAP__</script>
<script>
(function(){"use strict";var D=JSON.parse(document.getElementById("data").textContent);
function el(t,x){var e=document.createElement(t);if(x!==undefined&&x!==null)e.textContent=String(x);return e;}
document.getElementById("command").textContent=D.command;
var avg=document.getElementById("avg"),h=el("tr");h.appendChild(el("th","method"));
D.splits.concat(["OVERALL"]).forEach(function(s){h.appendChild(el("th",s.toUpperCase()));});avg.appendChild(h);
D.methods.forEach(function(m){var tr=el("tr");tr.appendChild(el("td",m.name));
 D.splits.map(function(s){return m.avg[s];}).concat([m.overall]).forEach(function(v){var td=el("td");
  if(v!==undefined&&v!==null){var b=el("span");b.className="bar";b.style.width=(v*160).toFixed(0)+"px";td.appendChild(b);
  td.appendChild(document.createTextNode(" "+(100*v).toFixed(2)));}tr.appendChild(td);});avg.appendChild(tr);});
var keys=[];D.methods.forEach(function(m){Object.keys(m.cells).forEach(function(k){if(keys.indexOf(k)<0)keys.push(k);});});
keys.sort();var ct=document.getElementById("cells"),hh=el("tr");hh.appendChild(el("th","method"));
keys.forEach(function(k){hh.appendChild(el("th",k));});ct.appendChild(hh);
D.methods.forEach(function(m){var tr=el("tr");tr.appendChild(el("td",m.name));
 keys.forEach(function(k){var v=m.cells[k];tr.appendChild(el("td",v===undefined?"":(100*v).toFixed(2)));});ct.appendChild(tr);});
document.body.dataset.ready="1";})();
</script></body></html>
"""
