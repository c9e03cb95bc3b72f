// The console's own words in the agent's language: English, Chinese (Simplified) and Persian
// (right to left). The agent picks it (the language menu; kept in this browser), else the
// browser's language decides. Keys are the English texts, as in a gettext catalog: a text
// without a translation stays English. The static page is translated by walking its text
// nodes and a few attributes; modules call t() for the texts they build.
//
// Customer and bot texts are never translated here: they show as written, each in its own
// direction (dir="auto").

import { PAGES } from "./i18n-pages.js";

const STORE_KEY = "frontline.console.lang";
export const LANGUAGES = [
  { code: "en", label: "English", dir: "ltr" },
  { code: "zh-CN", label: "中文", dir: "ltr" },
  { code: "fa", label: "فارسی", dir: "rtl" },
];

const TABLE = {
  "zh-CN": {
    "Frontline console": "Frontline 控制台",
    "Console": "控制台",
    "Dashboard": "仪表板",
    "Agents": "客服人员",
    "Audit log": "审计日志",
    "Your status": "您的状态",
    "Online": "在线",
    "Away": "离开",
    "Sound": "声音",
    "Log out": "退出登录",
    "Language": "语言",
    "Agent sign-in": "客服登录",
    "Email": "邮箱",
    "Password": "密码",
    "Sign in": "登录",
    "Conversations": "对话",
    "Queue": "队列",
    "Waiting conversations, most urgent first": "等待中的对话，最紧急的在前",
    "Mine": "我的",
    "Your conversations": "您的对话",
    "Recent conversations": "最近的对话",
    "Pick a conversation from the queue on the left.": "从左侧队列中选择一个对话。",
    "Conversation actions": "对话操作",
    "Take over": "接管",
    "Set pending": "设为待定",
    "Waiting on the customer: pauses the resolution clock": "等待客户：暂停解决计时",
    "Resolve": "解决",
    "Hand back to bot": "交还给机器人",
    "The bot answers the customer's next messages": "机器人将回答客户的下一条消息",
    "Transfer to": "转给",
    "Transfer to…": "转给…",
    "Transfer": "转接",
    "Transcript": "对话记录",
    "Write": "撰写",
    "Reply to customer": "回复客户",
    "Internal note": "内部备注",
    "Enter sends · Shift+Enter new line · / canned responses · Alt+N note · Alt+K search articles":
      "Enter 发送 · Shift+Enter 换行 · / 快捷回复 · Alt+N 备注 · Alt+K 搜索文章",
    "Message": "消息",
    "Canned responses": "快捷回复",
    "Send": "发送",
    "Add note": "添加备注",
    "Send template": "发送模板",
    "Ticket and customer": "工单和客户",
    "Ticket": "工单",
    "What the bot tried": "机器人的尝试",
    "Knowledge base": "知识库",
    "Search articles": "搜索文章",
    "Search articles (Alt+K)": "搜索文章 (Alt+K)",
    "Search": "搜索",
    "Articles": "文章",
    "Customer": "客户",
    "Ticket history": "工单历史",
    "Nobody is waiting.": "没有人在等待。",
    "No conversations of yours.": "您没有对话。",
    "No conversations yet.": "还没有对话。",
    "Unknown contact": "未知联系人",
    "(no subject)": "（无主题）",
    "Conversation {id}": "对话 {id}",
    "Conversation #{id}": "对话 #{id}",
    "Ticket #{n}": "工单 #{n}",
    "pending": "待定",
    "{n} unread": "{n} 条未读",
    "priority {p}": "优先级 {p}",
    "handed off: {reason}": "转人工原因：{reason}",
    "language: {language}": "语言：{language}",
    "bot": "机器人",
    "queued": "排队中",
    "agent": "客服",
    "resolved": "已解决",
    "Bot": "机器人",
    "Agent": "客服",
    "System": "系统",
    "Sources": "来源",
    "Offered: ": "提供的选项：",
    "not sent to the customer": "不会发送给客户",
    "Live": "实时",
    "Reconnecting…": "正在重新连接…",
    "{name} is typing…": "{name} 正在输入…",
    "The customer": "客户",
    "Internal note: only agents see it, never the customer.": "内部备注：只有客服人员可见，客户看不到。",
    "Reply to the customer… (type / for canned responses)": "回复客户…（输入 / 使用快捷回复）",
    "Take over the conversation to reply.": "接管对话后才能回复。",
    "No ticket: the bot is handling this conversation.": "没有工单：机器人正在处理此对话。",
    "Status": "状态",
    "Hand-off reason": "转人工原因",
    "Subject": "主题",
    "Team": "团队",
    "Assignee": "负责人",
    "Channel": "渠道",
    "First reply": "首次回复",
    "Resolution": "解决",
    "Satisfaction": "满意度",
    "Priority": "优先级",
    "Category": "类别",
    "Tags": "标签",
    "Save ticket": "保存工单",
    "No ticket yet.": "还没有工单。",
    "The bot did not try a knowledge-base answer.": "机器人没有尝试知识库回答。",
    "Asked: ": "提问：",
    "Bot said: ": "机器人回答：",
    "Article": "文章",
    "Score": "分数",
    "Nothing yet.": "暂无。",
    "No customer record.": "没有客户记录。",
    "Name": "姓名",
    "Phone": "电话",
    "None.": "无。",
    "Searching…": "正在搜索…",
    "No articles found.": "没有找到文章。",
    "Insert link": "插入链接",
    "Insert text": "插入文本",
    "Teams": "团队",
    "the customer asked for a person": "客户要求人工服务",
    "urgent words (raised to high priority)": "紧急用语（已提高到高优先级）",
    "the bot was not confident enough": "机器人把握不足",
    "the bot's answers did not help": "机器人的回答没有帮助",
    "the bot was unavailable": "机器人不可用",
    "waiting {d}": "已等待 {d}",
    "{label} due in {d}": "{label}剩余 {d}",
    "{label} overdue by {d}": "{label}已超时 {d}",
    "Resolution clock paused": "解决计时已暂停",
    "met (due {t})": "已达成（截止 {t}）",
    "missed (due {t})": "未达成（截止 {t}）",
    "paused": "已暂停",
    " · due {t}": " · 截止 {t}",
    "Customer since": "客户始于",
    "Identities": "身份",
    "no ratings yet": "暂无评分",
    "Tickets ({n})": "工单（{n}）",
    "Other conversations ({n})": "其他对话（{n}）",
    "Notes on the customer": "客户备注",
  },
  fa: {
    "Frontline console": "کنسول Frontline",
    "Console": "کنسول",
    "Dashboard": "داشبورد",
    "Agents": "همکاران",
    "Audit log": "گزارش ممیزی",
    "Your status": "وضعیت شما",
    "Online": "آنلاین",
    "Away": "دور از میز",
    "Sound": "صدا",
    "Log out": "خروج",
    "Language": "زبان",
    "Agent sign-in": "ورود همکاران",
    "Email": "ایمیل",
    "Password": "گذرواژه",
    "Sign in": "ورود",
    "Conversations": "گفتگوها",
    "Queue": "صف",
    "Waiting conversations, most urgent first": "گفتگوهای در انتظار، فوری‌ترین اول",
    "Mine": "مال من",
    "Your conversations": "گفتگوهای شما",
    "Recent conversations": "گفتگوهای اخیر",
    "Pick a conversation from the queue on the left.": "یک گفتگو را از صف انتخاب کنید.",
    "Conversation actions": "کارهای گفتگو",
    "Take over": "تحویل گرفتن",
    "Set pending": "در انتظار مشتری",
    "Waiting on the customer: pauses the resolution clock": "در انتظار مشتری: ساعت حل مسئله متوقف می‌شود",
    "Resolve": "حل شد",
    "Hand back to bot": "بازگرداندن به ربات",
    "The bot answers the customer's next messages": "ربات به پیام‌های بعدی مشتری پاسخ می‌دهد",
    "Transfer to": "انتقال به",
    "Transfer to…": "انتقال به…",
    "Transfer": "انتقال",
    "Transcript": "متن گفتگو",
    "Write": "نوشتن",
    "Reply to customer": "پاسخ به مشتری",
    "Internal note": "یادداشت داخلی",
    "Enter sends · Shift+Enter new line · / canned responses · Alt+N note · Alt+K search articles":
      "Enter ارسال · Shift+Enter خط تازه · / پاسخ‌های آماده · Alt+N یادداشت · Alt+K جستجوی مقاله",
    "Message": "پیام",
    "Canned responses": "پاسخ‌های آماده",
    "Send": "ارسال",
    "Add note": "افزودن یادداشت",
    "Send template": "ارسال قالب",
    "Ticket and customer": "تیکت و مشتری",
    "Ticket": "تیکت",
    "What the bot tried": "آنچه ربات امتحان کرد",
    "Knowledge base": "پایگاه دانش",
    "Search articles": "جستجوی مقاله‌ها",
    "Search articles (Alt+K)": "جستجوی مقاله‌ها (Alt+K)",
    "Search": "جستجو",
    "Articles": "مقاله‌ها",
    "Customer": "مشتری",
    "Ticket history": "تاریخچهٔ تیکت",
    "Nobody is waiting.": "کسی در انتظار نیست.",
    "No conversations of yours.": "گفتگویی ندارید.",
    "No conversations yet.": "هنوز گفتگویی نیست.",
    "Unknown contact": "مخاطب ناشناس",
    "(no subject)": "(بدون موضوع)",
    "Conversation {id}": "گفتگوی {id}",
    "Conversation #{id}": "گفتگوی #{id}",
    "Ticket #{n}": "تیکت #{n}",
    "pending": "در انتظار",
    "{n} unread": "{n} خوانده‌نشده",
    "priority {p}": "اولویت {p}",
    "handed off: {reason}": "دلیل واگذاری: {reason}",
    "language: {language}": "زبان: {language}",
    "bot": "ربات",
    "queued": "در صف",
    "agent": "همکار",
    "resolved": "حل‌شده",
    "Bot": "ربات",
    "Agent": "همکار",
    "System": "سیستم",
    "Sources": "منابع",
    "Offered: ": "گزینه‌های پیشنهادی: ",
    "not sent to the customer": "برای مشتری فرستاده نمی‌شود",
    "Live": "زنده",
    "Reconnecting…": "در حال اتصال دوباره…",
    "{name} is typing…": "{name} در حال نوشتن است…",
    "The customer": "مشتری",
    "Internal note: only agents see it, never the customer.": "یادداشت داخلی: فقط همکاران آن را می‌بینند، نه مشتری.",
    "Reply to the customer… (type / for canned responses)": "پاسخ به مشتری… (برای پاسخ‌های آماده / بزنید)",
    "Take over the conversation to reply.": "برای پاسخ دادن، گفتگو را تحویل بگیرید.",
    "No ticket: the bot is handling this conversation.": "تیکتی نیست: ربات این گفتگو را پیش می‌برد.",
    "Status": "وضعیت",
    "Hand-off reason": "دلیل واگذاری",
    "Subject": "موضوع",
    "Team": "تیم",
    "Assignee": "مسئول",
    "Channel": "کانال",
    "First reply": "نخستین پاسخ",
    "Resolution": "حل مسئله",
    "Satisfaction": "رضایت",
    "Priority": "اولویت",
    "Category": "دسته",
    "Tags": "برچسب‌ها",
    "Save ticket": "ذخیرهٔ تیکت",
    "No ticket yet.": "هنوز تیکتی نیست.",
    "The bot did not try a knowledge-base answer.": "ربات پاسخی از پایگاه دانش امتحان نکرد.",
    "Asked: ": "پرسش: ",
    "Bot said: ": "پاسخ ربات: ",
    "Article": "مقاله",
    "Score": "امتیاز",
    "Nothing yet.": "هنوز چیزی نیست.",
    "No customer record.": "پروندهٔ مشتری نیست.",
    "Name": "نام",
    "Phone": "تلفن",
    "None.": "هیچ.",
    "Searching…": "در حال جستجو…",
    "No articles found.": "مقاله‌ای پیدا نشد.",
    "Insert link": "درج پیوند",
    "Insert text": "درج متن",
    "Teams": "تیم‌ها",
    "the customer asked for a person": "مشتری درخواست گفتگو با یک نفر کرد",
    "urgent words (raised to high priority)": "واژه‌های فوری (اولویت بالا)",
    "the bot was not confident enough": "ربات به اندازهٔ کافی مطمئن نبود",
    "the bot's answers did not help": "پاسخ‌های ربات کمکی نکرد",
    "the bot was unavailable": "ربات در دسترس نبود",
    "waiting {d}": "{d} در انتظار",
    "{label} due in {d}": "{label}: {d} مانده",
    "{label} overdue by {d}": "{label}: {d} دیرکرد",
    "Resolution clock paused": "ساعت حل مسئله متوقف است",
    "met (due {t})": "به‌موقع (سررسید {t})",
    "missed (due {t})": "دیر شد (سررسید {t})",
    "paused": "متوقف",
    " · due {t}": " · سررسید {t}",
    "Customer since": "مشتری از",
    "Identities": "هویت‌ها",
    "no ratings yet": "هنوز امتیازی نیست",
    "Tickets ({n})": "تیکت‌ها ({n})",
    "Other conversations ({n})": "گفتگوهای دیگر ({n})",
    "Notes on the customer": "یادداشت‌های مشتری",
  },
};

function supported(tag) {
  const primary = String(tag || "").toLowerCase().split(/[-_]/)[0];
  const found = LANGUAGES.find((l) => l.code.toLowerCase().split("-")[0] === primary);
  return found ? found.code : null;
}

function chosen() {
  let stored = null;
  try { stored = window.localStorage.getItem(STORE_KEY); } catch (e) { /* private mode */ }
  const fromBrowser = (navigator.languages || [navigator.language]).map(supported).find(Boolean);
  return supported(stored) || fromBrowser || "en";
}

export const LANG = chosen();
export const DIR = (LANGUAGES.find((l) => l.code === LANG) || LANGUAGES[0]).dir;
const WORDS = { ...(TABLE[LANG] || {}), ...(PAGES[LANG] || {}) };

// `text` in the console's language, with {name} placeholders filled from `vars`.
export function t(text, vars) {
  const own = Object.prototype.hasOwnProperty.call(WORDS, text) ? WORDS[text] : text;
  return own.replace(/\{(\w+)\}/g, (whole, name) => (vars && vars[name] !== undefined ? String(vars[name]) : whole));
}

// `text` in the console's language as a list of strings and nodes: each {name} placeholder
// becomes `parts[name]` (an element, e.g. a figure, or a string), for h() to append as kids.
export function tParts(text, parts) {
  return t(text).split(/\{(\w+)\}/).map((piece, i) => (i % 2 ? (parts && parts[piece] !== undefined ? parts[piece] : "{" + piece + "}") : piece))
    .filter((piece) => piece !== "");
}

// A language tag ("zh", "fa-IR") as its name in the console's language ("中文", "Persian").
export function languageName(tag) {
  if (!tag) return "—";
  try {
    const name = new Intl.DisplayNames([LANG], { type: "language" }).of(String(tag));
    return name && name !== tag ? name + " (" + tag + ")" : String(tag);
  } catch (e) {
    return String(tag);
  }
}

const ATTRIBUTES = ["placeholder", "aria-label", "title", "label"];

// Translate the static texts under `root`: text nodes whose whole text is a key (spaces
// around it kept, runs of white space inside read as one: a paragraph may wrap in the HTML),
// and the ATTRIBUTES.
export function translateTree(root) {
  if (LANG === "en") return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue.trim();
    const key = text.replace(/\s+/g, " ");
    if (key && Object.prototype.hasOwnProperty.call(WORDS, key)) {
      node.nodeValue = node.nodeValue.replace(text, WORDS[key]);
    }
  }
  for (const el of root.querySelectorAll("*")) {
    for (const name of ATTRIBUTES) {
      const value = el.getAttribute(name);
      if (value && Object.prototype.hasOwnProperty.call(WORDS, value)) el.setAttribute(name, WORDS[value]);
    }
  }
}

// The page in the console's language and direction, with a menu to change it.
export function applyLanguage(menu) {
  document.documentElement.lang = LANG;
  document.documentElement.dir = DIR;
  document.title = t(document.title);
  translateTree(document.body);
  if (!menu) return;
  menu.replaceChildren(...LANGUAGES.map((l) => {
    const option = document.createElement("option");
    option.value = l.code;
    option.lang = l.code;
    option.textContent = l.label;
    option.selected = l.code === LANG;
    return option;
  }));
  menu.addEventListener("change", () => {
    try { window.localStorage.setItem(STORE_KEY, menu.value); } catch (e) { /* private mode */ }
    window.location.reload();
  });
}
