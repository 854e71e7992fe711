// The customers' chat page: talks to onecc over /chat/ws (docs/chat.md). A conversation survives reloads and
// reconnects (its id and resume token stay in this browser), and an onecc restart.
(() => {
  const STRINGS = {
    en: {
      title: 'Chat with us', name: 'Your name', topic: 'How can we help?', start: 'Start chat', send: 'Send',
      typing: 'The agent is typing…', waiting: 'Waiting for an agent…', joined: 'An agent joined.', reconnecting: 'Reconnecting…',
      ended: 'The chat has ended.', thanks: 'Thank you!', delivered: 'delivered', read: 'read',
      comment: 'Anything to tell us? (optional)',
    },
    'zh-TW': {
      title: '線上客服', name: '您的姓名', topic: '有什麼可以幫您？', start: '開始對話', send: '送出',
      typing: '客服人員輸入中…', waiting: '正在為您安排客服人員…', joined: '客服人員已加入。', reconnecting: '重新連線中…',
      ended: '對話已結束。', thanks: '謝謝您！', delivered: '已送達', read: '已讀',
      comment: '還有什麼想告訴我們的嗎？（選填）',
    },
  };
  const $ = (id) => document.getElementById(id);
  const saved = JSON.parse(localStorage.getItem('onecc.chat') || 'null');
  let language = localStorage.getItem('onecc.chat.language') || (navigator.language.startsWith('zh') ? 'zh-TW' : 'en');
  let socket = null;
  let conversation = saved;
  let retryMs = 1000;
  let typingTimer = null;
  let lastId = null;
  const tr = (key) => STRINGS[language][key] ?? STRINGS.en[key] ?? key;
  const receipts = new Map();

  function render() {
    document.documentElement.lang = language;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = tr(el.dataset.i18nPlaceholder);
    $('language').value = language;
    $('start-form').hidden = conversation !== null;
    $('chat').hidden = conversation === null;
  }

  function connect(first) {
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat/ws`);
    socket.onopen = () => {
      retryMs = 1000;
      socket.send(JSON.stringify(conversation ? { type: 'resume', conversation: conversation.id, token: conversation.token, ...(lastId ? { after: lastId } : {}) } : first));
    };
    socket.onmessage = (e) => onFrame(JSON.parse(e.data));
    socket.onclose = () => {
      if (!conversation) return;
      $('status').textContent = tr('reconnecting');
      setTimeout(() => connect(), retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'started':
        conversation = { id: frame.conversation, token: frame.token };
        localStorage.setItem('onecc.chat', JSON.stringify(conversation));
        $('status').textContent = tr('waiting');
        return render();
      case 'resumed':
        $('status').textContent = '';
        frame.messages.forEach(show);
        if (frame.state === 'closed') ended();
        return;
      case 'message':
        $('typing').hidden = true;
        show(frame.message);
        if (frame.message.from === 'agent' && document.visibilityState === 'visible') socket.send(JSON.stringify({ type: 'read', upTo: frame.message.id }));
        return;
      case 'ack':
        return show(frame.message);
      case 'typing':
        $('typing').hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => ($('typing').hidden = true), 4000);
        return;
      case 'receipt':
        for (const [id, el] of receipts) if (notAfter(id, frame.upTo)) el.textContent = tr(frame.receipt);
        return;
      case 'agent-joined':
        $('status').textContent = tr('joined');
        return;
      case 'ended':
        return ended(frame.csatQuestion);
      case 'thanks':
        $('csat').hidden = true;
        $('status').textContent = tr('thanks');
        return;
      case 'error':
        if (frame.code === 'not-found') {
          localStorage.removeItem('onecc.chat');
          conversation = null;
          render();
        }
        $('error').textContent = frame.message;
        return;
    }
  }

  /** Stream ids are "<ms>-<seq>": compared as numbers. */
  function notAfter(a, b) {
    const [am, as] = a.split('-').map(Number);
    const [bm, bs] = b.split('-').map(Number);
    return am < bm || (am === bm && as <= bs);
  }

  function show(message) {
    if (document.getElementById(`m-${message.id}`)) return;
    lastId = message.id;
    const item = document.createElement('li');
    item.id = `m-${message.id}`;
    item.className = message.from;
    item.append(document.createTextNode(message.text));
    for (const a of message.attachments || []) {
      const link = document.createElement('a');
      link.href = a.url;
      link.target = '_blank';
      link.rel = 'noopener';
      link.textContent = ` ${a.name || a.url}`;
      item.append(link);
    }
    if (message.from === 'customer') {
      const receipt = document.createElement('span');
      receipt.className = 'receipt';
      receipts.set(message.id, receipt);
      item.append(receipt);
    }
    $('messages').append(item);
    item.scrollIntoView({ block: 'end' });
  }

  function ended(question) {
    $('status').textContent = tr('ended');
    $('send-form').hidden = true;
    if (!question) return;
    $('csat').hidden = false;
    $('csat-question').textContent = question;
    $('csat-scores').replaceChildren(...[1, 2, 3, 4, 5].map((score) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = String(score);
      button.onclick = () => {
        const comment = $('csat-comment').value.trim();
        socket.send(JSON.stringify({ type: 'csat', score, ...(comment ? { comment } : {}) }));
      };
      return button;
    }));
    localStorage.removeItem('onecc.chat');
  }

  $('start-form').onsubmit = (e) => {
    e.preventDefault();
    connect({ type: 'start', name: $('name').value, topic: $('topic').value, language });
  };
  $('send-form').onsubmit = (e) => {
    e.preventDefault();
    const text = $('text').value;
    const link = $('link').value.trim();
    if (!text.trim() && !link) return;
    socket.send(JSON.stringify({ type: 'message', text, attachments: link ? [{ url: link }] : [] }));
    $('text').value = '';
    $('link').value = '';
    $('error').textContent = '';
  };
  let typingSent = 0;
  $('text').oninput = () => {
    // The agent's indicator needs a sign of life now and then, not one per key.
    if (socket?.readyState !== 1 || Date.now() - typingSent < 2000) return;
    typingSent = Date.now();
    socket.send(JSON.stringify({ type: 'typing' }));
  };
  $('language').onchange = () => {
    language = $('language').value;
    localStorage.setItem('onecc.chat.language', language);
    render();
  };
  render();
  if (conversation) connect();
})();
