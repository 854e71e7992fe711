// onecc's browser softphone and agent desktop: follows the agent feed (/agent, docs/agent-protocol.md) and rings,
// answers and talks through a JsSIP user agent registered with the account the feed's welcome snapshot gives.
// Plain browser JavaScript, bundled with JsSIP by src/agents/softphone/build.ts.
import JsSIP from 'jssip';

const STRINGS = {
  en: {
    title: 'onecc softphone', language: 'Language', signOut: 'Sign out', credential: 'Token or API key',
    remember: 'Remember on this computer', connect: 'Connect', acdLogin: 'Log in', acdLogout: 'Log out', ready: 'Ready',
    notReady: 'Not ready', queue: 'Queue', caller: 'Caller', whyYou: 'Why you', inputs: 'Caller\'s inputs',
    history: 'Previous interactions', answer: 'Answer', decline: 'Decline', hold: 'Hold', unhold: 'Resume',
    hangup: 'Hang up', toAgent: 'to agent', toNumber: 'to number', transfer: 'Transfer', disposition: 'Disposition',
    notes: 'Notes', readyAfter: 'Ready for the next call', wrapUp: 'Finish wrap-up', none: 'none',
    'phase.offer': 'Incoming call', 'phase.ringing': 'Incoming call — ringing', 'phase.talking': 'On a call',
    'phase.held': 'Caller on hold', 'phase.wrap-up': 'Wrap-up',
    'state.logged-out': 'Logged out', 'state.available': 'Ready', 'state.reserved': 'Offered', 'state.busy': 'Busy',
    'state.wrap-up': 'Wrap-up', 'state.not-ready': 'Not ready',
    'phone.off': 'Phone: off', 'phone.connecting': 'Phone: connecting', 'phone.registered': 'Phone: registered',
    'phone.failed': 'Phone: not registered', 'phone.none': 'Phone: no SIP account',
    'feed.off': 'Offline', 'feed.connecting': 'Connecting…', 'feed.connected': 'Online',
    withdrawn: 'The offer was withdrawn ({reason}).', transferred: 'Transferred.', wrappedUp: 'Wrap-up saved.',
    replaced: 'This desk was opened in another window.', badCredential: 'Not accepted: {reason}',
    noMic: 'No microphone: {reason}', failed: '{command} failed: {reason}',
    toQueue: 'to queue', consult: 'Consult', consultTransfer: 'Transfer now', conference: 'Conference',
    consultCancel: 'Back to caller', consulting: 'Talking to {target}; the caller is on hold.',
    conferencing: 'Conference with the caller and {target}.', dial: 'Call', manualCall: 'Outgoing call',
    dialing: 'Your phone rings first, then {number}…',
    'phase.chat-offer': 'Incoming chat', 'phase.chat': 'Chat', 'phase.email-offer': 'Incoming email', 'phase.email': 'Email',
    accept: 'Accept', endChat: 'End chat', chatTyping: 'The customer is typing…', send: 'Send',
    delivered: 'delivered', read: 'read',
  },
  'zh-TW': {
    title: 'onecc 網頁電話', language: '語言', signOut: '登出', credential: '權杖或 API 金鑰',
    remember: '在這台電腦上記住', connect: '連線', acdLogin: '簽入', acdLogout: '簽出', ready: '就緒',
    notReady: '未就緒', queue: '佇列', caller: '來電者', whyYou: '分配原因', inputs: '來電者輸入',
    history: '過往互動', answer: '接聽', decline: '拒接', hold: '保留', unhold: '恢復通話',
    hangup: '掛斷', toAgent: '轉給客服人員', toNumber: '轉給號碼', transfer: '轉接', disposition: '處理結果',
    notes: '備註', readyAfter: '接著準備接下一通', wrapUp: '完成話後處理', none: '無',
    'phase.offer': '來電', 'phase.ringing': '來電 — 響鈴中', 'phase.talking': '通話中',
    'phase.held': '來電者保留中', 'phase.wrap-up': '話後處理',
    'state.logged-out': '已簽出', 'state.available': '就緒', 'state.reserved': '分配中', 'state.busy': '忙碌',
    'state.wrap-up': '話後處理', 'state.not-ready': '未就緒',
    'phone.off': '電話：未啟用', 'phone.connecting': '電話：連線中', 'phone.registered': '電話：已註冊',
    'phone.failed': '電話：未註冊', 'phone.none': '電話：沒有 SIP 帳號',
    'feed.off': '離線', 'feed.connecting': '連線中…', 'feed.connected': '線上',
    withdrawn: '來電已撤回（{reason}）。', transferred: '已轉接。', wrappedUp: '已儲存話後處理。',
    replaced: '此工作台已在另一個視窗開啟。', badCredential: '未被接受：{reason}',
    noMic: '沒有麥克風：{reason}', failed: '{command} 失敗：{reason}',
    toQueue: '轉給佇列', consult: '諮詢', consultTransfer: '立即轉接', conference: '三方通話',
    consultCancel: '回到來電者', consulting: '正與 {target} 通話；來電者保留中。',
    conferencing: '與來電者及 {target} 三方通話中。', dial: '撥號', manualCall: '外撥通話',
    dialing: '先響您的電話，接著撥打 {number}…',
    'phase.chat-offer': '新對話', 'phase.chat': '對話中', 'phase.email-offer': '新郵件', 'phase.email': '郵件',
    accept: '接受', endChat: '結束對話', chatTyping: '客戶輸入中…', send: '送出',
    delivered: '已送達', read: '已讀',
  },
};

const $ = (id) => document.getElementById(id);
const store = { credential: 'onecc.softphone.credential', language: 'onecc.softphone.language' };
let language = localStorage.getItem(store.language) || (navigator.language.startsWith('zh') ? 'zh-TW' : 'en');

function tr(key, values = {}) {
  const text = STRINGS[language][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? '');
}

/** Everything the page shows comes from here; render() draws it. */
const desk = {
  credential: null,
  feed: { socket: null, state: 'off', session: null, lastSeq: 0, pending: new Map(), nextId: 1, retryMs: 1000 },
  name: '',
  agent: { state: 'logged-out', reason: null },
  reasons: [],
  dispositions: [],
  phone: 'off',
  /** The task on the desk: {id, channel, queue, attributes, previous, tieBreak, phase: offer|talking|wrap-up, held} */
  task: null,
  /** The ringing or talking SIP session of the task, and INVITEs that came before their offer, by task id. */
  sip: null,
  invites: new Map(),
  /** A call the agent placed (feed `dial`): {number, session}; its INVITE to this phone is answered at once. */
  manual: null,
  message: '',
};
let ua = null;

// ---- the agent feed -------------------------------------------------------------------------------------------

function credentialField(credential) {
  // A token is `<base64url claims>.<signature>` with JSON claims; anything else is taken as an API key.
  try {
    const [claims, signature, rest] = credential.split('.');
    const json = JSON.parse(atob(claims.replace(/-/g, '+').replace(/_/g, '/')));
    if (signature && rest === undefined && typeof json.sub === 'string') return { token: credential };
  } catch {
    // not a token
  }
  return { apiKey: credential };
}

function connectFeed() {
  const feed = desk.feed;
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/agent`);
  feed.socket = socket;
  feed.state = 'connecting';
  render();
  socket.onopen = () => {
    const resume = feed.session ? { resume: { session: feed.session, lastSeq: feed.lastSeq } } : {};
    socket.send(JSON.stringify({ v: 1, type: 'auth', ...credentialField(desk.credential), ...resume }));
  };
  socket.onmessage = (message) => onFrame(JSON.parse(message.data));
  socket.onclose = (close) => {
    if (feed.socket !== socket) return;
    feed.socket = null;
    feed.state = 'off';
    for (const { reject } of feed.pending.values()) reject(new Error('connection lost'));
    feed.pending.clear();
    if (close.code === 4401) return signOut(tr('badCredential', { reason: close.reason }));
    if (close.code === 4409) {
      desk.message = tr('replaced');
      return render();
    }
    // Anything else (network, restart, too slow) is resumed: the feed replays what was missed.
    setTimeout(() => desk.credential && !feed.socket && connectFeed(), feed.retryMs);
    feed.retryMs = Math.min(feed.retryMs * 2, 15_000);
    render();
  };
}

/** Sends a command; resolves with the result's data, rejects with the error frame's message. */
function command(type, fields = {}) {
  const feed = desk.feed;
  if (!feed.socket || feed.state !== 'connected') return Promise.reject(new Error(tr('feed.off')));
  const id = `c${feed.nextId++}`;
  feed.socket.send(JSON.stringify({ v: 1, id, type, ...fields }));
  return new Promise((resolve, reject) => feed.pending.set(id, { resolve, reject }));
}

/** Runs a command from a button: failures show in the message line. */
async function act(type, fields) {
  try {
    return await command(type, fields);
  } catch (err) {
    desk.message = tr('failed', { command: type, reason: err.message });
    render();
    return undefined;
  }
}

function onFrame(frame) {
  const feed = desk.feed;
  if (frame.type === 'welcome') return onWelcome(frame);
  if (frame.type === 'result' || frame.type === 'error') {
    const pending = feed.pending.get(frame.id);
    feed.pending.delete(frame.id);
    if (frame.type === 'result') pending?.resolve(frame.data);
    else pending?.reject(new Error(frame.message));
    return;
  }
  if (frame.type !== 'event' || frame.seq <= feed.lastSeq) return;
  feed.lastSeq = frame.seq;
  onEvent(frame.event, frame.data);
  render();
}

function onWelcome(welcome) {
  const feed = desk.feed;
  const resumed = welcome.resumed && !welcome.gap;
  feed.session = welcome.session;
  // Replayed events came before the welcome; a new session starts counting where the welcome says.
  feed.lastSeq = welcome.resumed ? Math.max(feed.lastSeq, welcome.lastSeq) : welcome.lastSeq;
  feed.state = 'connected';
  feed.retryMs = 1000;
  const snapshot = welcome.snapshot;
  if (!snapshot.agent) return signOut(tr('badCredential', { reason: 'not an agent' }));
  desk.name = snapshot.name;
  desk.agent = snapshot.agent;
  desk.reasons = snapshot.notReadyReasons;
  desk.dispositions = snapshot.dispositions;
  if (!resumed) reconcileTasks(snapshot.tasks, snapshot.agent.agentId);
  startPhone(snapshot.softphone);
  render();
}

/** After a gap, the snapshot's tasks are the truth; a task in wrap-up is no longer live and stays. */
function reconcileTasks(tasks, agentId) {
  const live = tasks.find((t) => t.agentId === agentId && (t.state === 'offered' || t.state === 'assigned'));
  if (desk.task && desk.task.phase !== 'wrap-up' && desk.task.id !== live?.id) desk.task = null;
  if (live && !desk.task) {
    desk.task = { id: live.id, channel: live.channel, queue: live.queue, attributes: live.attributes, previous: [], tieBreak: '', phase: live.state === 'offered' ? 'offer' : 'talking', held: false };
  }
  if (desk.task?.phase === 'offer') desk.sip = desk.invites.get(desk.task.id) ?? desk.sip;
}

function onEvent(name, data) {
  switch (name) {
    case 'agent-state':
      desk.agent = data;
      return;
    case 'offer':
      if (!data) return; // the feed could not build the offer; the INVITE's headers still make a screen pop
      desk.task = {
        id: data.task.id, channel: data.task.channel, queue: data.task.queue, attributes: data.context.attributes,
        previous: data.context.previousInteractions, tieBreak: data.decision?.tieBreak ?? '', phase: 'offer', held: false,
        messages: [], receipts: {},
      };
      if (isConversation(desk.task)) void loadTranscript(desk.task);
      desk.sip = desk.invites.get(data.task.id) ?? null;
      desk.message = '';
      return;
    case 'offer-withdrawn':
      if (desk.task?.id === data.taskId && desk.task.phase === 'offer') {
        desk.task = null;
        desk.message = tr('withdrawn', { reason: data.reason });
      }
      return;
    case 'chat-message':
      if (desk.task?.id === data.taskId) {
        addMessage(desk.task, data.message);
        desk.task.customerTyping = false;
        // Shown on screen: read (the customer sees it).
        if (document.visibilityState === 'visible') void command('chat-read', { taskId: data.taskId, upTo: data.message.id }).catch(() => undefined);
      }
      return;
    case 'chat-typing':
      if (desk.task?.id === data.taskId) {
        desk.task.customerTyping = true;
        clearTimeout(desk.typingTimer);
        desk.typingTimer = setTimeout(() => {
          if (desk.task) desk.task.customerTyping = false;
          render();
        }, 4000);
      }
      return;
    case 'chat-receipt':
      if (desk.task?.id === data.taskId) desk.task.receipts[data.upTo] = data.receipt;
      return;
    case 'task-assigned':
      if (desk.task?.id === data.task.id) desk.task.phase = 'talking';
      return;
    case 'task-ended':
      if (desk.task?.id === data.taskId) {
        desk.task.phase = 'wrap-up';
        desk.sip = null;
      }
      return;
  }
}

// ---- chats and emails -------------------------------------------------------------------------------------------

/** Message ids are Redis stream ids, "<ms>-<seq>": compared as numbers. */
function notAfter(a, b) {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as <= bs);
}

function isConversation(task) {
  return task.channel === 'chat' || task.channel === 'email';
}

function addMessage(task, message) {
  if (!task.messages.some((m) => m.id === message.id)) task.messages.push(message);
}

async function loadTranscript(task) {
  const history = await act('chat-history', { taskId: task.id });
  if (history && desk.task === task) {
    for (const message of history.messages) addMessage(task, message);
    task.messages.sort((a, b) => a.at - b.at);
    render();
  }
}

async function sendChat(event) {
  event.preventDefault();
  const task = desk.task;
  const text = $('chat-text').value;
  if (!task || !text.trim()) return;
  const sent = await act('chat-send', { taskId: task.id, text });
  if (sent && desk.task === task) {
    addMessage(task, sent);
    $('chat-text').value = '';
  }
  render();
}

let typingSent = 0;
function chatTyping() {
  const task = desk.task;
  if (!task || Date.now() - typingSent < 2000) return;
  typingSent = Date.now();
  void command('chat-typing', { taskId: task.id }).catch(() => undefined);
}

function renderChat(task) {
  const show = isConversation(task) && task.phase !== 'wrap-up';
  $('chat-panel').hidden = !show;
  if (!show) return;
  $('chat-messages').replaceChildren(...task.messages.map((m) => {
    const item = document.createElement('li');
    item.className = m.from;
    item.dataset.id = m.id;
    item.textContent = m.text;
    for (const a of m.attachments || []) {
      const link = document.createElement('a');
      link.href = a.url;
      link.target = '_blank';
      link.rel = 'noopener';
      link.textContent = ` ${a.name || a.url}`;
      item.append(link);
    }
    if (m.from === 'agent') {
      const receipt = Object.entries(task.receipts).filter(([upTo]) => notAfter(m.id, upTo)).map(([, r]) => r);
      if (receipt.length) {
        const mark = document.createElement('small');
        mark.textContent = ` ${tr(receipt.includes('read') ? 'read' : 'delivered')}`;
        item.append(mark);
      }
    }
    return item;
  }));
  $('chat-typing').hidden = !task.customerTyping;
  $('chat-form').hidden = task.phase !== 'talking';
}

// ---- the SIP phone --------------------------------------------------------------------------------------------

function startPhone(account) {
  if (!account) {
    desk.phone = 'none';
    return;
  }
  if (ua) return;
  // onecc names the listener's address; one bound to every interface is reached at the page's host.
  const servers = account.servers
    .map((url) => url.replace(/\/\/(0\.0\.0\.0|\[::\])(?=[:/]|$)/, `//${location.hostname}`))
    .filter((url) => location.protocol !== 'https:' || url.startsWith('wss:'));
  const host = new URL(servers[0] ?? location.href).hostname;
  JsSIP.debug.disable();
  ua = new JsSIP.UA({
    sockets: servers.map((url) => new JsSIP.WebSocketInterface(url)),
    uri: `sip:${account.username}@${host}`,
    authorization_user: account.username,
    password: account.password,
    display_name: desk.name,
    session_timers: false,
  });
  ua.on('connecting', () => setPhone('connecting'));
  ua.on('registered', () => setPhone('registered'));
  ua.on('unregistered', () => setPhone('failed'));
  ua.on('registrationFailed', () => setPhone('failed'));
  ua.on('newRTCSession', ({ originator, session, request }) => originator === 'remote' && onInvite(session, request));
  desk.phone = 'connecting';
  ua.start();
}

function setPhone(state) {
  desk.phone = state;
  render();
}

function onInvite(session, request) {
  const dialed = request.getHeader('X-Onecc-Dial');
  if (dialed && desk.manual?.number === dialed && !desk.manual.session) return answerManualCall(session);
  const taskId = request.getHeader('X-Onecc-Task');
  if (!taskId || (desk.task && desk.task.phase !== 'offer' && desk.task.id !== taskId)) {
    return session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
  }
  desk.invites.set(taskId, session);
  // A video call (the customer's video page): answered with the camera, the customer shown.
  const video = /^m=video /m.test(request.body ?? '');
  session.data.video = video;
  session.on('peerconnection', ({ peerconnection }) => {
    peerconnection.addEventListener('track', (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      if (video) $('remote-video').srcObject = stream;
      else $('remote-audio').srcObject = stream;
    });
  });
  const gone = () => {
    desk.invites.delete(taskId);
    if (desk.sip === session) desk.sip = null;
    render();
  };
  session.on('confirmed', () => {
    // The agent's own camera, small, once it is sending.
    if (video) $('local-video').srcObject = new MediaStream(session.connection.getSenders().map((s) => s.track).filter(Boolean));
    render();
  });
  session.on('ended', gone);
  session.on('failed', gone);
  if (!desk.task || desk.task.id !== taskId) {
    // The INVITE came first (or the feed could not build the offer): its headers carry the same context.
    const attributes = {};
    for (const [name, [{ raw }]] of Object.entries(request.headers)) {
      if (name.toLowerCase().startsWith('x-onecc-var-')) attributes[name.slice('x-onecc-var-'.length).toLowerCase()] = raw;
    }
    desk.task = { id: taskId, channel: 'voice', queue: request.getHeader('X-Onecc-Queue') ?? '', attributes, previous: [], tieBreak: '', phase: 'offer', held: false };
  }
  desk.sip = session;
  render();
}

// ---- ringing --------------------------------------------------------------------------------------------------

let ringer = null;

/** A two-tone ring (440 + 480 Hz, 2 s on, 4 s off) for as long as an offer rings. */
function ring(on) {
  if (on === (ringer !== null)) return;
  if (!on) {
    clearInterval(ringer.timer);
    ringer.context.close();
    ringer = null;
    return;
  }
  const context = new AudioContext();
  const gain = context.createGain();
  gain.gain.value = 0;
  gain.connect(context.destination);
  for (const hz of [440, 480]) {
    const tone = context.createOscillator();
    tone.frequency.value = hz;
    tone.connect(gain);
    tone.start();
  }
  const burst = () => {
    gain.gain.setValueAtTime(0.1, context.currentTime);
    gain.gain.setValueAtTime(0, context.currentTime + 2);
  };
  burst();
  ringer = { context, timer: setInterval(burst, 6000) };
}

// ---- actions --------------------------------------------------------------------------------------------------

async function answer() {
  const task = desk.task;
  if (!task) return;
  if (task.channel !== 'voice' && task.channel !== 'video') {
    if (await act('accept', { taskId: task.id })) task.phase = 'talking';
    return render();
  }
  try {
    const video = desk.sip?.data.video === true;
    desk.sip?.answer({ mediaConstraints: { audio: true, video }, pcConfig: { iceServers: [] } });
  } catch (err) {
    desk.message = tr('noMic', { reason: err.message });
  }
  render();
}

async function decline() {
  const task = desk.task;
  if (!task) return;
  const session = desk.sip;
  await act('reject', { taskId: task.id });
  // The feed's reject stops the ringing on every phone; this one need not wait for the CANCEL.
  if (session && !session.isEnded() && !session.isEstablished()) session.terminate({ status_code: 603, reason_phrase: 'Decline' });
  if (desk.task === task) desk.task = null;
  render();
}

async function hold(on) {
  const task = desk.task;
  if (task && (await act(on ? 'hold' : 'unhold', { taskId: task.id })) !== undefined) task.held = on;
  render();
}

async function hangup() {
  const task = desk.task;
  if (!task) return;
  // This phone hangs up like any phone (BYE); the feed's hangup is for a call it does not hold (a reloaded page).
  if (desk.sip?.isEstablished()) return desk.sip.terminate();
  await act('hangup', { taskId: task.id });
}

async function consult(event) {
  event.preventDefault();
  const task = desk.task;
  const target = $('consult-to').value.trim();
  const to = { [$('consult-kind').value]: target };
  if (task && (await act('consult', { taskId: task.id, to })) !== undefined && desk.task === task) task.consult = { target, conference: false };
  render();
}

async function endConsult(type) {
  const task = desk.task;
  if (!task?.consult) return;
  if ((await act(type, { taskId: task.id })) === undefined || desk.task !== task) {
    // Most likely the consulted party hung up already: the agent is back with the caller.
    if (type === 'consult-cancel' && desk.task === task) task.consult = null;
    return render();
  }
  if (type === 'conference') task.consult.conference = true;
  else task.consult = null;
  if (type === 'consult-transfer') desk.message = tr('transferred');
  render();
}

/** The agent places a call: onecc rings this phone first (answered here at once), then the number. */
async function dial(event) {
  event.preventDefault();
  const number = $('dial-number').value.trim();
  desk.manual = { number, session: null };
  desk.message = tr('dialing', { number });
  render();
  const result = await act('dial', { number });
  if (result === undefined && desk.manual?.number === number) {
    desk.manual.session?.terminate();
    desk.manual = null;
  } else if (result !== undefined) {
    desk.message = '';
  }
  render();
}

function answerManualCall(session) {
  desk.manual.session = session;
  session.on('peerconnection', ({ peerconnection }) => {
    peerconnection.addEventListener('track', (e) => {
      $('remote-audio').srcObject = e.streams[0] ?? new MediaStream([e.track]);
    });
  });
  const gone = () => {
    if (desk.manual?.session === session) desk.manual = null;
    render();
  };
  session.on('ended', gone);
  session.on('failed', gone);
  try {
    session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
  } catch (err) {
    desk.message = tr('noMic', { reason: err.message });
  }
  render();
}

async function transfer(event) {
  event.preventDefault();
  const task = desk.task;
  const to = { [$('transfer-kind').value]: $('transfer-to').value.trim() };
  if (task && (await act('transfer', { taskId: task.id, to })) !== undefined) {
    desk.message = tr('transferred');
    render();
  }
}

async function wrapUp(event) {
  event.preventDefault();
  const task = desk.task;
  if (!task) return;
  const notes = $('notes').value.trim();
  const done = await act('wrap-up', { taskId: task.id, disposition: $('disposition').value, ready: $('wrap-up-ready').checked, ...(notes ? { notes } : {}) });
  if (done !== undefined && desk.task === task) {
    desk.task = null;
    desk.message = tr('wrappedUp');
    $('notes').value = '';
  }
  render();
}

function signIn(event) {
  event.preventDefault();
  desk.credential = $('credential').value.trim();
  if ($('remember').checked) localStorage.setItem(store.credential, desk.credential);
  $('login-error').textContent = '';
  // Asked for while the agent clicks, so that the first call does not wait on a permission prompt.
  navigator.mediaDevices?.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop()), () => undefined);
  connectFeed();
}

function signOut(error) {
  localStorage.removeItem(store.credential);
  desk.credential = null;
  const socket = desk.feed.socket;
  desk.feed.socket = null; // its close is ours: no reconnect
  desk.feed = { ...desk.feed, pending: new Map(), state: 'off', session: null, lastSeq: 0 };
  socket?.close(1000);
  ua?.stop();
  ua = null;
  Object.assign(desk, { task: null, sip: null, phone: 'off', message: '' });
  desk.invites.clear();
  $('login-error').textContent = typeof error === 'string' ? error : '';
  render();
}

// ---- drawing --------------------------------------------------------------------------------------------------

function options(select, values) {
  if ([...select.options].map((o) => o.value).join() === values.join()) return;
  select.replaceChildren(...values.map((v) => new Option(v, v)));
}

function render() {
  document.documentElement.lang = language;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
  $('language').value = language;
  const signedIn = desk.credential !== null;
  $('login-view').hidden = signedIn;
  $('desk-view').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  $('agent-name').textContent = signedIn ? desk.name : '';
  setBadge('feed-state', desk.feed.state, tr(`feed.${desk.feed.state}`), signedIn);
  setBadge('phone-state', desk.phone, tr(`phone.${desk.phone}`), signedIn);
  const reason = desk.agent.state === 'not-ready' && desk.agent.reason ? ` (${desk.agent.reason})` : '';
  setBadge('agent-state', desk.agent.state, tr(`state.${desk.agent.state}`) + reason, signedIn && desk.feed.state === 'connected');

  const online = desk.feed.state === 'connected';
  const state = desk.agent.state;
  $('acd-login').disabled = !online || state !== 'logged-out';
  $('acd-logout').disabled = !online || state === 'logged-out' || desk.task !== null;
  $('ready').disabled = !online || state === 'logged-out' || state === 'available' || state === 'busy' || state === 'reserved';
  $('not-ready').disabled = !online || state === 'logged-out' || state === 'busy' || state === 'reserved';
  options($('not-ready-reason'), desk.reasons);
  options($('disposition'), desk.dispositions);
  $('dial-form').hidden = !online || state === 'logged-out' || desk.task !== null || desk.manual !== null;
  $('manual-call').hidden = desk.manual === null;
  $('manual-number').textContent = desk.manual?.number ?? '';
  renderTask();
  $('message').textContent = desk.message;
}

function setBadge(id, state, text, visible) {
  const el = $(id);
  el.hidden = !visible;
  el.dataset.state = state;
  el.textContent = text;
}

function renderTask() {
  const task = desk.task;
  const ringing = task?.phase === 'offer' && (desk.sip !== null || task.channel !== 'voice');
  ring(ringing);
  $('task').hidden = task === null;
  if (!task) return;
  const conversation = isConversation(task);
  const phase = conversation
    ? (task.phase === 'offer' ? `${task.channel}-offer` : task.phase === 'talking' ? task.channel : task.phase)
    : task.phase === 'talking' && task.held ? 'held' : task.phase === 'offer' && ringing ? 'ringing' : task.phase;
  $('task').dataset.phase = task.phase;
  $('task').dataset.taskId = task.id;
  $('task').classList.toggle('ringing', ringing);
  $('task-title').textContent = tr(`phase.${phase}`);
  $('task-queue').textContent = task.queue;
  $('task-caller').textContent = task.attributes.caller ?? '';
  $('task-reason').textContent = task.tieBreak || tr('none');
  $('task-attributes').tBodies[0].replaceChildren(...Object.entries(task.attributes).map(([name, value]) => {
    const row = document.createElement('tr');
    row.dataset.attr = name;
    row.append(cell(name), cell(value));
    return row;
  }));
  $('task-history').replaceChildren(...(task.previous.length ? task.previous : [null]).map((p) => {
    const item = document.createElement('li');
    item.textContent = p === null ? tr('none') : [new Date(p.startedAt).toLocaleString(language), p.outcome, p.agentId, p.dispositions?.at(-1)?.disposition].filter(Boolean).join(' · ');
    return item;
  }));
  $('offer-actions').hidden = task.phase !== 'offer';
  $('answer').disabled = !ringing || desk.sip?.isEstablished() === true;
  $('call-actions').hidden = task.phase !== 'talking' || Boolean(task.consult);
  $('consult-actions').hidden = task.phase !== 'talking' || !task.consult;
  $('conference').hidden = Boolean(task.consult?.conference);
  $('consult-with').textContent = task.consult ? tr(task.consult.conference ? 'conferencing' : 'consulting', { target: task.consult.target }) : '';
  $('hold').hidden = task.held;
  $('unhold').hidden = !task.held;
  $('wrap-up-form').hidden = task.phase !== 'wrap-up';
  $('video-panel').hidden = !(desk.sip?.data.video === true && task.phase === 'talking');
  // Chats and emails: no hold or consultation; they end with End chat.
  for (const id of ['hold', 'unhold', 'consult-form']) if (conversation) $(id).hidden = true;
  $('hangup').textContent = tr(conversation ? 'endChat' : 'hangup');
  $('answer').textContent = tr(conversation ? 'accept' : 'answer');
  renderChat(task);
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

// ---- wiring ---------------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', () => signOut());
$('language').addEventListener('change', () => {
  language = $('language').value;
  localStorage.setItem(store.language, language);
  render();
});
$('acd-login').addEventListener('click', () => act('login'));
$('acd-logout').addEventListener('click', () => act('logout'));
$('ready').addEventListener('click', () => act('ready'));
$('not-ready').addEventListener('click', () => act('not-ready', { reason: $('not-ready-reason').value }));
$('answer').addEventListener('click', answer);
$('decline').addEventListener('click', decline);
$('hold').addEventListener('click', () => hold(true));
$('unhold').addEventListener('click', () => hold(false));
$('hangup').addEventListener('click', hangup);
$('transfer-form').addEventListener('submit', transfer);
$('consult-form').addEventListener('submit', consult);
$('consult-transfer').addEventListener('click', () => endConsult('consult-transfer'));
$('conference').addEventListener('click', () => endConsult('conference'));
$('consult-cancel').addEventListener('click', () => endConsult('consult-cancel'));
$('dial-form').addEventListener('submit', dial);
$('chat-form').addEventListener('submit', sendChat);
$('chat-text').addEventListener('input', chatTyping);
$('manual-hangup').addEventListener('click', () => desk.manual?.session?.terminate());
$('wrap-up-form').addEventListener('submit', wrapUp);

// A connection that died without a close frame shows no error in a browser: a ping that gets no answer finds it.
setInterval(() => {
  const socket = desk.feed.socket;
  if (desk.feed.state !== 'connected' || !socket) return;
  const timer = setTimeout(() => desk.feed.socket === socket && socket.close(), 10_000);
  command('ping').then(() => clearTimeout(timer), () => clearTimeout(timer));
}, 25_000);

const remembered = localStorage.getItem(store.credential);
if (remembered) {
  $('credential').value = remembered;
  desk.credential = remembered;
  connectFeed();
}
render();
