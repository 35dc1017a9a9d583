// Keyboard shortcuts for the review console (no framework, no build step):
//   f = fraud, n = not fraud, e = escalate (on a claimed item), c = claim,
//   j = review next (on the queue page), q = back to the queue.
// Keys are ignored while typing in a field.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  var ids = { f: "decide-fraud", n: "decide-not-fraud", e: "decide-escalate", c: "claim", j: "next" };
  if (event.key === "q") { window.location.href = "/"; return; }
  var button = ids[event.key] && document.getElementById(ids[event.key]);
  if (button) { event.preventDefault(); button.click(); }
});
