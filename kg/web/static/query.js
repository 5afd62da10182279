// kg's query page: YASGUI on this server's /sparql, offline (nothing is fetched from elsewhere).
(function () {
  "use strict";
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var examples = data("kg-examples");
  var prefixes = data("kg-prefixes");
  var defaultQuery = data("kg-default-query");
  var endpoint = new URL("sparql", document.baseURI).href;
  var resourceBase = new URL("resource", document.baseURI).href;
  document.getElementById("endpoint").textContent = endpoint;

  // IRIs in result tables open their page on this server, not the IRI on the web.
  var Table = Yasgui.Yasr.plugins.table;
  if (Table && Table.prototype.getUriLinkFromBinding) {
    Table.prototype.getUriLinkFromBinding = function (binding, prefixMap) {
      var iri = binding.value, label = iri, compacted = false;
      if (prefixMap) {
        for (var p in prefixMap) {
          if (iri.indexOf(prefixMap[p]) === 0) { label = p + ":" + iri.substring(prefixMap[p].length); compacted = true; break; }
        }
      }
      var a = document.createElement("a");
      a.className = "iri";
      a.href = resourceBase + "?iri=" + encodeURIComponent(iri);
      a.title = iri;
      a.textContent = label;
      var brackets = !(compacted || this.persistentConfig.compact);
      var span = document.createElement("span");
      if (brackets) span.appendChild(document.createTextNode("<"));
      span.appendChild(a);
      if (brackets) span.appendChild(document.createTextNode(">"));
      return span.innerHTML;
    };
  }

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; }, keys: [] },
    copyEndpointOnNewTab: true,
    populateFromUrl: false,
    persistenceId: null,
    autoAddOnInit: true,
    yasqe: {
      value: defaultQuery,
      prefixCcApi: null,                       // no prefix.cc
      autocompleters: ["prefixes", "variables"], // bundled lists only: no LOV class/property look-ups
      createShortLink: undefined,
      resizeable: true,
      collapsePrefixesOnLoad: true,
      editorHeight: "340px"
    },
    yasr: { prefixes: prefixes, defaultPlugin: "table", pluginOrder: ["table", "response"] }
  });
  window.kgYasgui = yasgui;
  var tab = yasgui.getTab();
  if (tab) tab.setQuery(defaultQuery);

  var byName = {};
  examples.forEach(function (ex) { byName[ex.name] = ex; });
  document.querySelectorAll("button.example").forEach(function (button) {
    button.addEventListener("click", function () {
      var ex = byName[button.dataset.name];
      var current = yasgui.getTab();
      current.setQuery(ex.query);
      document.querySelectorAll("button.example.active").forEach(function (b) { b.classList.remove("active"); });
      button.classList.add("active");
      current.getYasqe().focus();
    });
  });
})();
