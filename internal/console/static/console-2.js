// webhookd console. A sign-in link (/console/?token=...) must not stay in
// the address bar or the history: replace the entry without the token.
(function () {
  var url = new URL(window.location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
})();

// Copy buttons: <button data-copy="ID"> copies the text of the element ID.
document.addEventListener("click", function (e) {
  var button = e.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  var text = source.textContent;
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  // Plain HTTP on another host: select the text and copy the selection.
  var range = document.createRange();
  range.selectNodeContents(source);
  var sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  if (document.execCommand("copy")) done();
});
