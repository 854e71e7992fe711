// The customers' video page: asks onecc for an admission token and its SIP WebSocket address (GET /video-token),
// then calls onecc's video user with audio and video (JsSIP, bundled by src/channels/video/build.ts). onecc rings
// an agent; the call is answered when they answer (docs/video.md).
import JsSIP from 'jssip';

const STRINGS = {
  en: {
    title: 'Video call', name: 'Your name', topic: 'How can we help?', call: 'Start video call', hangup: 'Hang up',
    waiting: 'Waiting for an agent…', connected: 'Connected.', ended: 'The call has ended.', failed: 'The call failed: {reason}',
    survey: 'How did we do? Tell us in a minute.',
  },
  'zh-TW': {
    title: '視訊通話', name: '您的姓名', topic: '有什麼可以幫您？', call: '開始視訊通話', hangup: '掛斷',
    waiting: '正在為您安排客服人員…', connected: '已接通。', ended: '通話已結束。', failed: '通話失敗：{reason}',
    survey: '我們的服務如何？花一分鐘告訴我們。',
  },
};
const $ = (id) => document.getElementById(id);
let language = localStorage.getItem('onecc.video.language') || (navigator.language.startsWith('zh') ? 'zh-TW' : 'en');
const tr = (key, values = {}) => (STRINGS[language][key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? '');
let session = null;
let status = '';

function render() {
  document.documentElement.lang = language;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
  $('language').value = language;
  $('status').textContent = status ? tr(status.key, status.values) : '';
  $('call-form').hidden = session !== null;
  $('hangup').hidden = session === null;
  $('videos').hidden = session === null;
}

function setStatus(key, values) {
  status = { key, values };
  render();
}

async function call(event) {
  event.preventDefault();
  $('error').textContent = '';
  const info = await fetch('/video-token').then((r) => r.json());
  // A listener bound to every interface is reached at the page's host.
  const servers = info.servers
    .map((url) => url.replace(/\/\/(0\.0\.0\.0|\[::\])(?=[:/]|$)/, `//${location.hostname}`))
    .filter((url) => location.protocol !== 'https:' || url.startsWith('wss:'));
  if (servers.length === 0) return void ($('error').textContent = tr('failed', { reason: 'no SIP WebSocket listener' }));
  const host = new URL(servers[0]).host;
  const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  $('local').srcObject = local;
  JsSIP.debug.disable();
  const ua = new JsSIP.UA({
    sockets: servers.map((url) => new JsSIP.WebSocketInterface(url)),
    uri: `sip:visitor-${Math.random().toString(36).slice(2, 10)}@${new URL(servers[0]).hostname}`,
    register: false,
    session_timers: false,
    no_answer_timeout: 3600,
  });
  ua.start();
  const name = $('name').value.trim() || 'Web visitor';
  session = ua.call(`sip:${info.user}@${host}`, {
    mediaStream: local,
    pcConfig: { iceServers: [] },
    extraHeaders: [`X-Onecc-Video-Token: ${info.token}`, `X-Onecc-Name: ${name.replace(/[\r\n]/g, ' ')}`, `X-Onecc-Topic: ${$('topic').value.replace(/[\r\n]/g, ' ')}`],
  });
  window.oneccVideoSession = session; // for tests and debugging: the page's RTCPeerConnection is session.connection
  session.on('peerconnection', ({ peerconnection }) => {
    peerconnection.addEventListener('track', (e) => ($('remote').srcObject = e.streams[0] ?? new MediaStream([e.track])));
  });
  session.connection?.addEventListener('track', (e) => ($('remote').srcObject = e.streams[0] ?? new MediaStream([e.track])));
  session.on('progress', () => setStatus('waiting'));
  session.on('confirmed', () => setStatus('connected'));
  // onecc's answer carries the call's signed survey link, offered once the call is over.
  let survey = null;
  session.on('accepted', (e) => (survey = e.response?.getHeader('X-Onecc-Survey') ?? null));
  const end = (reason) => {
    for (const track of local.getTracks()) track.stop();
    session = null;
    ua.stop();
    setStatus(reason ? 'failed' : 'ended', { reason });
    if (survey) Object.assign($('survey'), { href: `/survey/?t=${encodeURIComponent(survey)}`, hidden: false });
  };
  session.on('ended', () => end());
  session.on('failed', (e) => end(e.cause));
  setStatus('waiting');
}

$('call-form').addEventListener('submit', (e) => void call(e).catch((err) => ($('error').textContent = tr('failed', { reason: err.message }))));
$('hangup').addEventListener('click', () => session?.terminate());
$('language').addEventListener('change', () => {
  language = $('language').value;
  localStorage.setItem('onecc.video.language', language);
  render();
});
render();
