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

__all__ = ["report_data", "render_report", "write_report", "project", "eval_page", "embed_json"]


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no line separators.

    >>> embed_json({"t": "</script><b>&"})
    '{"t": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return text


def project(
    x: np.ndarray, labels: Sequence[int] | np.ndarray, *, max_points: int = 5000, seed: int = 0
) -> dict[str, list]:
    """2-D map of the rows of ``x``: UMAP when the ``umap`` extra is installed, else PCA (scikit-learn), on a sample
    of at most ``max_points`` rows stratified by cluster. Returns ``{"x", "y", "i"}`` (i = 0-based text index)."""
    n = len(x)
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    if n > max_points:
        keep: list[int] = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            share = max(1, int(round(max_points * len(members) / n)))
            keep += rng.choice(members, size=min(share, len(members)), replace=False).tolist()
        idx = np.sort(np.asarray(keep[:max_points] if len(keep) > max_points else keep))
    else:
        idx = np.arange(n)
    pts = x[idx]
    if len(idx) < 3:
        xy = np.zeros((len(idx), 2))
    else:
        try:
            import umap

            xy = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(idx) - 1)).fit_transform(pts)
        except ImportError:
            from sklearn.decomposition import PCA

            xy = PCA(n_components=2, random_state=seed).fit_transform(pts)
    xy = np.asarray(xy, dtype=np.float64)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9) if len(xy) else np.ones(2)
    xy = (xy - xy.min(axis=0)) / span if len(xy) else xy
    return {"x": np.round(xy[:, 0], 4).tolist(), "y": np.round(xy[:, 1], 4).tolist(), "i": idx.tolist()}


def report_data(
    result: Clustering,
    texts: Sequence[str],
    *,
    vectors: np.ndarray | None = None,
    labels_true: Sequence[Any] | None = None,
    max_points: int = 5000,
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
    }
    if vectors is not None and len(vectors) == n:
        data["map"] = project(np.asarray(vectors), [lab - 1 for lab in result.labels], max_points=max_points)
        data["map"]["c"] = [result.labels[i] - 1 for i in data["map"]["i"]]
    if labels_true is not None:
        from ..metrics import score_labels

        if len(labels_true) != n:
            from ..errors import InputError

            raise InputError(f"{len(labels_true)} gold labels for {n} texts: give one label per text, in order")
        s = score_labels(labels_true, result.labels)
        classes = sorted({str(g) for g in labels_true})
        col = {g: j for j, g in enumerate(classes)}
        matrix = [[0] * len(classes) for _ in result.clusters]
        for lab, g in zip(result.labels, labels_true):
            matrix[lab - 1][col[str(g)]] += 1
        data["gold"] = {"v": s.v_measure, "homogeneity": s.homogeneity, "completeness": s.completeness, "nmi": s.nmi,
                        "ari": s.ari, "k": s.k_pred, "k_gold": s.k_true, "classes": classes, "matrix": matrix}
    return data


def render_report(data: dict[str, Any]) -> str:
    """The HTML page for :func:`report_data`'s data."""
    return (_PAGE.replace("__TITLE__", html.escape(str(data.get("title", "cluster-r1 report"))))
            .replace("__STYLE__", _STYLE).replace("__SCRIPT__", _SCRIPT).replace("__DATA__", embed_json(data)))


def write_report(
    path: str | Path,
    result: Clustering,
    texts: Sequence[str],
    *,
    vectors: np.ndarray | None = None,
    labels_true: Sequence[Any] | None = None,
    instruction: str = "",
    max_points: int = 5000,
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
"""

_SCRIPT = r"""
(function(){
"use strict";
var t0=performance.now();
var D=JSON.parse(document.getElementById("data").textContent);
var PAGE=50;
function el(tag,text,cls){var e=document.createElement(tag);if(text!==undefined&&text!==null)e.textContent=String(text);
if(cls)e.className=cls;return e;}
function color(k){var h=(k*137.508)%360;return "hsl("+h.toFixed(1)+",62%,48%)";}
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
  g.classes.forEach(function(c){head.appendChild(el("th",c));});hm.appendChild(head);
  var mx=1;g.matrix.forEach(function(r){r.forEach(function(v){if(v>mx)mx=v;});});
  g.matrix.forEach(function(r,k){var tr=el("tr");tr.appendChild(el("th",D.clusters[k].name));
    r.forEach(function(v){var td=el("td",v||"");var a=v/mx;td.style.background="rgba(37,99,235,"+a.toFixed(3)+")";
    if(a>0.55)td.style.color="#fff";tr.appendChild(td);});hm.appendChild(tr);});}
if(D.map&&D.map.x.length){
  document.getElementById("map-section").hidden=false;
  var cv=document.getElementById("map"),ctx=cv.getContext("2d"),W=cv.width,H=cv.height,pad=12;
  var P=D.map.x.length,px=new Float32Array(P),py=new Float32Array(P);
  for(var j=0;j<P;j++){px[j]=pad+D.map.x[j]*(W-2*pad);py[j]=pad+(1-D.map.y[j])*(H-2*pad);}
  var cols=D.clusters.map(function(c,k){return color(k);});
  var R=P<300?3:(P<3000?2:1.5);
  function draw(hl){ctx.clearRect(0,0,W,H);for(var j=0;j<P;j++){var k=D.map.c[j];
    ctx.globalAlpha=(hl===undefined||hl===k)?0.8:0.12;ctx.fillStyle=cols[k];ctx.fillRect(px[j]-R,py[j]-R,2*R,2*R);}
    ctx.globalAlpha=1;}
  draw();cv.dataset.points=String(P);
  var G=24,grid={};for(var j=0;j<P;j++){var key=Math.floor(px[j]/G)+","+Math.floor(py[j]/G);(grid[key]=grid[key]||[]).push(j);}
  var tip=document.getElementById("tip");
  cv.addEventListener("mousemove",function(ev){var r=cv.getBoundingClientRect(),sx=W/r.width,sy=H/r.height;
    var x=(ev.clientX-r.left)*sx,y=(ev.clientY-r.top)*sy,best=-1,bd=64;
    var gx=Math.floor(x/G),gy=Math.floor(y/G);
    for(var a=-1;a<=1;a++)for(var b=-1;b<=1;b++){var cell=grid[(gx+a)+","+(gy+b)];if(!cell)continue;
      cell.forEach(function(j){var d=(px[j]-x)*(px[j]-x)+(py[j]-y)*(py[j]-y);if(d<bd){bd=d;best=j;}});}
    if(best<0){tip.hidden=true;return;}
    var i=D.map.i[best];tip.textContent=D.clusters[D.map.c[best]].name+"\n"+D.texts[i].slice(0,300);
    tip.style.left=(ev.clientX-r.left+14)+"px";tip.style.top=(ev.clientY-r.top+10)+"px";tip.hidden=false;});
  cv.addEventListener("mouseleave",function(){tip.hidden=true;});
  var lg=document.getElementById("legend");
  D.clusters.forEach(function(c,k){var s=el("span");var sw=el("span",null,"swatch");sw.style.background=cols[k];
    s.appendChild(sw);s.appendChild(document.createTextNode(c.name));
    s.onmouseenter=function(){draw(k);};s.onmouseleave=function(){draw();};lg.appendChild(s);});
  document.getElementById("map-hint").textContent=(P<D.texts.length?P+" of "+D.texts.length+" texts shown":
    D.texts.length+" texts")+"; hover a point to read it, a legend entry to highlight its cluster.";
}
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
