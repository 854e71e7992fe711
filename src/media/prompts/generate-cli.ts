/*
 * The setup step's prompt generator (src/setup/build-prompts.sh compiles and runs it from the repository root):
 *   node dist/src/media/prompts/generate-cli.js [--text media/text] [--out media/prompts]
 * Point --out at media.prompts.dir when a site configures another directory.
 */
import { parseArgs } from 'node:util';
import { generatePrompts, type GenerateProgress } from './generate';

const REPORT_EVERY = 25;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { text: { type: 'string', default: 'media/text' }, out: { type: 'string', default: 'media/prompts' } },
  });
  const started = performance.now();
  let lastReported = -1;
  const line = (p: GenerateProgress): string =>
    `prompts: ${p.generated + p.cached + p.custom}/${p.total} ready (${p.generated} generated, ${p.cached} cached, ${p.custom} custom kept)`;
  const result = await generatePrompts({
    textDir: values.text!,
    outDir: values.out!,
    onProgress: (p) => {
      if (p.generated > 0 && p.generated % REPORT_EVERY === 0 && p.generated !== lastReported) {
        lastReported = p.generated;
        console.log(line(p));
      }
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const total = result.generated.length + result.cached.length + result.custom.length;
  const removed = result.removed.length > 0 ? `, ${result.removed.length} no longer in the catalog removed` : '';
  console.log(
    `prompts: ${total} files in ${values.out} (${result.generated.length} generated, ${result.cached.length} cached, ${result.custom.length} custom kept${removed}) in ${seconds} s`,
  );
}

main().catch((err: Error) => {
  console.error(`prompts: ${err.message}`);
  process.exitCode = 1;
});
