// The satisfaction survey of one interaction, opened from a link (?t=<signed token>): the video page after a call,
// an email follow-up. Answers go to POST /surveys/<token> (src/reports/README.md).
(() => {
  const STRINGS = {
    en: {
      title: 'How did we do?', send: 'Send', thanks: 'Thank you for your answers!', answered: 'You have answered already; sending again replaces your answers.',
      csat: 'How satisfied are you with our service? (1 = very unsatisfied, 5 = very satisfied)',
      nps: 'How likely are you to recommend us to a friend? (0 = not at all, 10 = extremely)',
      comment: 'Anything else you would like to tell us?', choose: 'Choose a score first.', invalid: 'This survey link is not valid or has expired.',
    },
    'zh-TW': {
      title: '我們的服務如何？', send: '送出', thanks: '感謝您的回覆！', answered: '您已回覆過；再次送出會取代先前的答案。',
      csat: '您對我們的服務滿意嗎？（1 = 非常不滿意，5 = 非常滿意）',
      nps: '您有多大可能向朋友推薦我們？（0 = 完全不可能，10 = 非常可能）',
      comment: '還有什麼想告訴我們的嗎？', choose: '請先選擇分數。', invalid: '此問卷連結無效或已過期。',
    },
  };
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('t') ?? '';
  let language = localStorage.getItem('onecc.survey.language') || (navigator.language.startsWith('zh') ? 'zh-TW' : 'en');
  const tr = (key) => STRINGS[language][key] ?? STRINGS.en[key] ?? key;
  let statusKey = '';

  function render() {
    document.documentElement.lang = language;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
    $('language').value = language;
    $('status').textContent = statusKey ? tr(statusKey) : '';
  }

  function scores(id, from, to) {
    $(id).replaceChildren(...Array.from({ length: to - from + 1 }, (_, i) => {
      const label = document.createElement('label');
      const input = document.createElement('input');
      Object.assign(input, { type: 'radio', name: id, value: String(from + i) });
      label.append(input, ` ${from + i}`);
      return label;
    }));
  }

  const chosen = (name) => {
    const input = document.querySelector(`input[name="${name}"]:checked`);
    return input ? Number(input.value) : undefined;
  };

  async function start() {
    const res = await fetch(`/surveys/${encodeURIComponent(token)}`);
    if (!res.ok) return void ($('error').textContent = res.status === 403 ? tr('invalid') : (await res.json()).error);
    const info = await res.json();
    scores('csat', 1, 5);
    scores('nps', 0, 10);
    $('survey').hidden = false;
    statusKey = info.answered ? 'answered' : '';
    render();
  }

  $('survey').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('error').textContent = '';
    const csat = chosen('csat');
    const nps = chosen('nps');
    if (csat === undefined && nps === undefined) return void ($('error').textContent = tr('choose'));
    const comment = $('comment').value.trim();
    const res = await fetch(`/surveys/${encodeURIComponent(token)}`, { method: 'POST', body: JSON.stringify({ csat, nps, ...(comment ? { comment } : {}) }) });
    if (!res.ok) return void ($('error').textContent = (await res.json()).error);
    $('survey').hidden = true;
    statusKey = 'thanks';
    render();
  });
  $('language').addEventListener('change', () => {
    language = $('language').value;
    localStorage.setItem('onecc.survey.language', language);
    render();
  });
  render();
  void start();
})();
