/* archdoc: raise Mermaid's size limits for whole-network diagrams.
 *
 * mermaid.min.js (shipped beside this file) defines window.mermaid, so
 * mkdocs-material uses it instead of fetching one from a CDN. Material calls
 * mermaid.initialize() with its own settings, which would reset the limits;
 * wrapping initialize keeps Material's settings and adds ours on top. */
(function () {
  "use strict";
  var mermaid = window.mermaid;
  if (!mermaid || mermaid.__archdocLimits) {
    return;
  }
  var limits = { maxEdges: 2000, maxTextSize: 300000 };
  var initialize = mermaid.initialize.bind(mermaid);
  mermaid.initialize = function (config) {
    return initialize(Object.assign({}, config, limits));
  };
  mermaid.__archdocLimits = limits;
  mermaid.initialize({ startOnLoad: false });
})();
