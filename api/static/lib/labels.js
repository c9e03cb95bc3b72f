// Words for the hub's codes, shared by the console and the dashboard.

// Why a conversation was handed off (tickets' `reason`), as the end of a sentence
// ("handed off: the customer asked for a person") ...
export const REASONS = {
  customer_request: "the customer asked for a person",
  urgent: "urgent words (raised to high priority)",
  low_confidence: "the bot was not confident enough",
  not_helpful: "the bot's answers did not help",
  bot_unavailable: "the bot was unavailable",
};

// ... and as a short title (the dashboard's table rows).
export const REASON_TITLES = {
  customer_request: "Customer asked for a person",
  urgent: "Urgent words",
  low_confidence: "Bot not confident",
  not_helpful: "Answers did not help",
  bot_unavailable: "Bot unavailable",
};

export function reasonText(reason) {
  return REASONS[reason] || String(reason || "—");
}

export function reasonTitle(reason) {
  return REASON_TITLES[reason] || reason;
}

// Who wrote a transcript message.
export const ROLES = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };

// Ticket priorities, most urgent first.
export const PRIORITIES = ["urgent", "high", "normal", "low"];

// Ticket statuses in which the ticket is still being worked on.
export const ACTIVE_STATUSES = ["new", "open", "pending"];
