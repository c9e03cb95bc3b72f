// The help center's only script: "Chat with us" opens the chat widget with the article the
// visitor was reading in the message box (the widget itself is loaded by the page).

const button = document.getElementById("help-chat");
if (button) {
  button.addEventListener("click", () => {
    const widget = window.FrontlineWidget;
    if (!widget || typeof widget.open !== "function") return;
    const context = button.dataset.context;
    widget.open(context ? { draft: "About “" + context + "”: " } : undefined);
  });
}
