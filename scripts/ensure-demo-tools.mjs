#!/usr/bin/env node
// Checks the programs the offline demo needs (`pnpm demo`): espeak-ng speaks for the caller
// and for the AI, pocketsphinx recognises the caller. On Debian/Ubuntu, run as root (a
// container), they are installed with apt-get; otherwise this prints how to install them
// and stops. DEMO_INSTALL=0 never installs; POCKETSPHINX_BIN / POCKETSPHINX_MODEL_DIR point
// at another pocketsphinx. With a speech-to-text provider's key (see demo.ts) pocketsphinx is
// not needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const modelDir = process.env.POCKETSPHINX_MODEL_DIR || '/usr/share/pocketsphinx/model/en-us';
const set = (name) => (process.env[name] ?? '') !== '';
const offlineStt = process.env.DEMO_STT_TYPE ? process.env.DEMO_STT_TYPE === 'local' : !['DEEPGRAM_API_KEY', 'ELEVENLABS_API_KEY', 'CARTESIA_API_KEY'].some(set);
const tools = [
  { what: 'espeak-ng (speech synthesis)', present: () => onPath('espeak-ng'), packages: ['espeak-ng'] },
  ...(offlineStt
    ? [
        { what: 'pocketsphinx (offline speech recognition)', present: () => onPath(process.env.POCKETSPHINX_BIN || 'pocketsphinx_continuous'), packages: ['pocketsphinx'] },
        { what: 'the pocketsphinx US English model', present: () => existsSync(join(modelDir, 'en-us')), packages: ['pocketsphinx-en-us'] },
      ]
    : []),
];

let missing = tools.filter((tool) => !tool.present());
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.flatMap((tool) => tool.packages))];
const canInstall = process.platform === 'linux' && process.getuid?.() === 0 && onPath('apt-get') && process.env.DEMO_INSTALL !== '0';
if (canInstall) {
  console.error(`The demo needs ${missing.map((tool) => tool.what).join(', ')}: installing ${packages.join(' ')} with apt-get ...`);
  const environment = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env: environment }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env: environment });
    install();
  }
  missing = tools.filter((tool) => !tool.present());
  if (missing.length === 0) process.exit(0);
}

console.error(
  [
    '',
    `The demo needs programs that are not installed: ${missing.map((tool) => tool.what).join(', ')}.`,
    'On Debian or Ubuntu:',
    '',
    `    sudo apt-get install -y ${packages.join(' ')}`,
    '',
    'then run the demo again. (Elsewhere: install espeak-ng, and pocketsphinx 5prealpha with its',
    'en-us model; set POCKETSPHINX_BIN and POCKETSPHINX_MODEL_DIR when they are not on the',
    'default paths.)',
    '',
  ].join('\n'),
);
process.exit(1);

function onPath(command) {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(delimiter).some((folder) => folder !== '' && existsSync(join(folder, command)));
}
