// Drives web/js/lang.js against a running hotline-bridge (base URL in argv[2]) and prints what it
// got as one JSON object; tests/detect_js.rs starts the server and checks the output.
import { createSuggester, detect, dir, name, question } from '../../web/js/lang.js';

const base = process.argv[2];
const endpoint = `${base}/api/detect`;
const out = {
  names: Object.fromEntries(['pt', 'es', 'ja', 'ko', 'ar', 'ru', 'zh'].map((l) => [l, name(l)])),
  questions: { pt: question('pt'), ar: question('ar'), ja: question('ja') },
  dirs: { ar: dir('ar'), 'ar-EG': dir('ar-EG'), pt: dir('pt') },
};

const suggest = createSuggester({ delayMs: 50, endpoint });
// Typing: the first two keystrokes are superseded by the third before the debounce elapses.
const first = suggest('Olá', ['es-ES']);
const second = suggest('Olá, perdi', ['es-ES']);
const third = suggest('Olá, perdi o meu passaporte e não sei onde fica a embaixada', ['pt-BR', 'en']);
out.superseded = [await first, await second];
out.suggestion = await third;

try {
  await detect({ text: 'x'.repeat(3000) }, { endpoint }); // over detect.max_text_bytes (2000)
  out.oversize = 'accepted';
} catch (e) {
  out.oversize = { code: e.code, status: e.status };
}
console.log(JSON.stringify(out));
