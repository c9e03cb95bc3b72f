// The help center's only script: "Chat with us" opens the chat widget with the article the
// visitor was reading in the message box (the widget itself is loaded by the page).

const button = document.getElementById("help-chat");
if (button) {
  button.addEventListener("click", () => {
    const widget = window.FrontlineWidget;
    if (!widget || typeof widget.open !== "function") return;
    // The page writes the draft in its own language ("About “Reset your password”: ").
    const draft = button.dataset.draft;
    widget.open(draft ? { draft } : undefined);
  });
}
