/* archdoc: draw model diagrams, and let readers zoom, pan, download and follow them.
 *
 * Model pages hold each diagram's Mermaid source in a <pre class="archdoc-mermaid">
 * inside a <div class="archdoc-diagram" data-nodes="{...}">: data-nodes maps a node id
 * to the module it draws ("path") and the anchor it links to ("href"). This script
 * draws them with the mermaid.js shipped beside it (never a CDN), in the palette the
 * reader chose, and adds:
 *   - a tooltip on every node naming its module;
 *   - links: a block node to its block diagram, a layer node to its table row;
 *   - "Full size": the diagram over the page, zoomed with the wheel, the buttons or a
 *     pinch, panned by dragging;
 *   - "Download SVG".
 * It also raises Mermaid's size limits for diagrams that Material draws itself
 * (a project's own ```mermaid fences), keeping Material's other settings. */
(function () {
  "use strict";
  var mermaid = window.mermaid;
  if (!mermaid) {
    return;
  }
  var LIMITS = { maxEdges: 2000, maxTextSize: 300000 };
  if (!mermaid.__archdocLimits) {
    var initialize = mermaid.initialize.bind(mermaid);
    mermaid.initialize = function (config) {
      return initialize(Object.assign({}, config, LIMITS));
    };
    mermaid.__archdocLimits = LIMITS;
  }

  var drawn = 0;

  function scheme() {
    var body = document.body;
    return body && body.getAttribute("data-md-color-scheme") === "slate" ? "dark" : "default";
  }

  function button(text, title) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "archdoc-button";
    b.textContent = text;
    b.title = title;
    return b;
  }

  function nodesOf(box) {
    try {
      return JSON.parse(box.getAttribute("data-nodes") || "{}");
    } catch (error) {
      return {};
    }
  }

  function decorate(svg, nodes, onFollow) {
    Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
      /* Mermaid names a node's group <diagram id>-flowchart-<node id>-<n>. */
      var match = /-flowchart-([A-Za-z]\w*)-\d+$/.exec(g.id || "");
      var info = nodes[g.getAttribute("data-id") || (match && match[1])];
      if (!info) {
        return;
      }
      if (info.path) {
        var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = info.path;
        g.insertBefore(title, g.firstChild);
      }
      /* Only where the page holds the target: a layer below the table's depth has no row. */
      if (info.href && document.getElementById(info.href.replace(/^#/, ""))) {
        g.classList.add("archdoc-link");
        g.setAttribute("data-href", info.href);
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "link");
        var follow = function () {
          onFollow();
          window.location.hash = info.href.replace(/^#/, "");
        };
        g.addEventListener("click", follow);
        g.addEventListener("keydown", function (event) {
          if (event.key === "Enter") {
            follow();
          }
        });
      }
    });
  }

  function download(svg, name) {
    var copy = svg.cloneNode(true);
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    var text = new XMLSerializer().serializeToString(copy);
    var url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function fileName(box) {
    var label = box.getAttribute("aria-label") || "diagram";
    return label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") + ".svg";
  }

  /* Full size: the diagram over the page; transform = translate + scale. */
  function open(svg, nodes) {
    var overlay = document.createElement("div");
    overlay.className = "archdoc-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Diagram at full size");
    var bar = document.createElement("div");
    bar.className = "archdoc-overlay-bar";
    var zoomIn = button("+", "Zoom in");
    var zoomOut = button("−", "Zoom out");
    var reset = button("Fit", "Fit to the window");
    var close = button("Close", "Close (Esc)");
    [zoomIn, zoomOut, reset, close].forEach(function (b) { bar.appendChild(b); });
    var stage = document.createElement("div");
    stage.className = "archdoc-overlay-stage";
    var copy = svg.cloneNode(true);
    copy.removeAttribute("style");
    var box = svg.viewBox && svg.viewBox.baseVal;
    var width = box && box.width ? box.width : svg.getBoundingClientRect().width;
    var height = box && box.height ? box.height : svg.getBoundingClientRect().height;
    copy.setAttribute("width", width);
    copy.setAttribute("height", height);
    stage.appendChild(copy);
    overlay.appendChild(bar);
    overlay.appendChild(stage);
    document.body.appendChild(overlay);
    document.documentElement.classList.add("archdoc-noscroll");

    var scale = 1, x = 0, y = 0;
    function apply() {
      copy.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
    }
    function fit() {
      var area = stage.getBoundingClientRect();
      scale = Math.min(area.width / width, area.height / height, 1.5);
      x = (area.width - width * scale) / 2;
      y = Math.max(0, (area.height - height * scale) / 2);
      apply();
    }
    function zoom(factor, cx, cy) {
      var area = stage.getBoundingClientRect();
      var px = cx === undefined ? area.width / 2 : cx - area.left;
      var py = cy === undefined ? area.height / 2 : cy - area.top;
      var next = Math.min(Math.max(scale * factor, 0.05), 20);
      x = px - (px - x) * (next / scale);
      y = py - (py - y) * (next / scale);
      scale = next;
      apply();
    }
    function shut() {
      overlay.remove();
      document.documentElement.classList.remove("archdoc-noscroll");
      document.removeEventListener("keydown", onKey);
    }
    function onKey(event) {
      if (event.key === "Escape") { shut(); }
      if (event.key === "+" || event.key === "=") { zoom(1.25); }
      if (event.key === "-") { zoom(0.8); }
    }
    zoomIn.addEventListener("click", function () { zoom(1.25); });
    zoomOut.addEventListener("click", function () { zoom(0.8); });
    reset.addEventListener("click", fit);
    close.addEventListener("click", shut);
    document.addEventListener("keydown", onKey);
    stage.addEventListener("wheel", function (event) {
      event.preventDefault();
      zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX, event.clientY);
    }, { passive: false });
    var pointers = {}, last = null, spread = null;
    stage.addEventListener("pointerdown", function (event) {
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      last = { x: event.clientX, y: event.clientY };
      stage.setPointerCapture(event.pointerId);
    });
    stage.addEventListener("pointermove", function (event) {
      if (!pointers[event.pointerId]) { return; }
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      var ids = Object.keys(pointers);
      if (ids.length === 2) {  /* pinch */
        var a = pointers[ids[0]], b = pointers[ids[1]];
        var d = Math.hypot(a.x - b.x, a.y - b.y);
        if (spread) { zoom(d / spread, (a.x + b.x) / 2, (a.y + b.y) / 2); }
        spread = d;
        return;
      }
      x += event.clientX - last.x;
      y += event.clientY - last.y;
      last = { x: event.clientX, y: event.clientY };
      apply();
    });
    function release(event) {
      delete pointers[event.pointerId];
      spread = null;
    }
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);
    decorate(copy, nodes, shut);
    fit();
    close.focus();
  }

  async function draw(box) {
    var pre = box.querySelector("pre.archdoc-mermaid");
    if (pre) {
      box.__archdocSource = pre.textContent;
    }
    var source = box.__archdocSource;
    if (!source) {
      return;
    }
    var nodes = nodesOf(box);
    var id = "archdoc-svg-" + (++drawn);
    var result = await mermaid.render(id, source);
    var frame = document.createElement("div");
    frame.className = "archdoc-frame";
    frame.innerHTML = result.svg;
    var svg = frame.querySelector("svg");
    var bar = document.createElement("div");
    bar.className = "archdoc-toolbar";
    var full = button("Full size", "Open the diagram at full size, to zoom and pan");
    var save = button("Download SVG", "Save the diagram as an SVG file");
    bar.appendChild(full);
    bar.appendChild(save);
    full.addEventListener("click", function () { open(svg, nodes); });
    save.addEventListener("click", function () { download(svg, fileName(box)); });
    decorate(svg, nodes, function () {});
    box.replaceChildren(bar, frame);
    box.classList.add("archdoc-drawn");
  }

  async function drawAll() {
    var boxes = document.querySelectorAll(".archdoc-diagram");
    if (!boxes.length) {
      return;
    }
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: scheme(), flowchart: { htmlLabels: true } });
    for (var i = 0; i < boxes.length; i++) {
      try {
        await draw(boxes[i]);
      } catch (error) {
        var note = document.createElement("p");
        note.className = "archdoc-error";
        note.textContent = "This diagram could not be drawn: " + (error && error.message ? error.message : error);
        boxes[i].appendChild(note);
      }
    }
  }

  /* A link to a row inside a collapsed section opens the section first. */
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") {
        node.open = true;
      }
    }
    if (target) {
      target.classList.add("archdoc-target");
      target.scrollIntoView({ block: "center" });
    }
  }

  function start() {
    reveal();
    window.addEventListener("hashchange", reveal);
    drawAll();
    var last = scheme();
    new MutationObserver(function () {
      if (scheme() !== last) {
        last = scheme();
        drawAll();
      }
    }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(start);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
