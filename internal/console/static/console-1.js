// webhookd console. A sign-in link (/console/?token=...) must not stay in
// the address bar or the history: replace the entry without the token.
(function () {
  var url = new URL(window.location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
})();
