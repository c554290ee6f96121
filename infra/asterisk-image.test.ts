import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../packages/asterisk-testing/src/real-asterisk.ts';

const root = join(import.meta.dirname, '..');
const asteriskDirectory = join(root, 'infra', 'asterisk');
const script = join(asteriskDirectory, 'render-config.sh');
const templates = join(asteriskDirectory, 'conf');
// Under /tmp, not the OS temp folder: the script refuses directories with a dot in them.
const scratch = mkdtempSync('/tmp/avp-render-');

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let runs = 0;

/** Runs render-config.sh with `sh` and only the given variables (plus PATH), into fresh directories. */
function render(variables: Record<string, string>, command: string[] = []) {
  const base = join(scratch, `run${++runs}`);
  const etc = join(base, 'etc');
  const state = join(base, 'state');
  const environment = { PATH: process.env.PATH ?? '/usr/bin:/bin', ASTERISK_ETC_DIR: etc, ASTERISK_STATE_DIR: state, ...variables };
  const result = spawnSync('sh', [script, ...command], { env: environment, encoding: 'utf8' });
  const file = (name: string) => readFileSync(join(environment.ASTERISK_ETC_DIR, name), 'utf8');
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, etc: environment.ASTERISK_ETC_DIR, state: environment.ASTERISK_STATE_DIR, file };
}

/** `key = value` / `key => value` settings of one section of an Asterisk config file. */
function section(text: string, name: string): Record<string, string> {
  const settings: Record<string, string> = {};
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) current = header[1]!;
    else if (current === name && line.includes('=')) {
      const [key, ...value] = line.split(/=>?/);
      settings[key!.trim()] = value.join('=').replace(/^>/, '').trim();
    }
  }
  return settings;
}

describe('infra/asterisk/render-config.sh', () => {
  it('renders the container defaults: ARI on 0.0.0.0:8088 with the given login, RTP 10000-10199, calls into Stasis(avp)', () => {
    const result = render({ ARI_PASSWORD: 'a-long-ari-password' });
    expect(result.status, result.stderr).toBe(0);
    expect(section(result.file('http.conf'), 'general')).toMatchObject({ enabled: 'yes', bindaddr: '0.0.0.0', bindport: '8088' });
    expect(section(result.file('ari.conf'), 'general')).toMatchObject({ enabled: 'yes' });
    expect(section(result.file('ari.conf'), 'asterisk')).toMatchObject({ type: 'user', password: 'a-long-ari-password', password_format: 'plain' });
    expect(section(result.file('rtp.conf'), 'general')).toMatchObject({ rtpstart: '10000', rtpend: '10199' });
    expect(result.file('extensions.conf')).toMatch(/^exten => _X\.,1,Stasis\(avp\)$/m);
  });

  it('fills every placeholder of every template exactly as the tests that run a real Asterisk do', () => {
    const values = {
      ARI_PASSWORD: 'secret-for-ari',
      ARI_USER: 'platform',
      ARI_APP: 'voice-app',
      ARI_BIND_ADDRESS: '127.0.0.1',
      ARI_PORT: '18088',
      RTP_START: '20000',
      RTP_END: '20198',
      ASTERISK_PREFIX: '/opt/asterisk-build',
    };
    const result = render(values);
    expect(result.status, result.stderr).toBe(0);
    const files = readdirSync(templates).filter((name) => name.endsWith('.conf'));
    expect(readdirSync(result.etc).sort()).toEqual(files.sort());
    const placeholders = { ...values, PREFIX: values.ASTERISK_PREFIX, ETC_DIR: result.etc, STATE_DIR: result.state };
    for (const name of files) {
      const rendered = result.file(name);
      expect(rendered, name).not.toMatch(/@@[A-Z0-9_]+@@/);
      expect(rendered, name).toBe(renderTemplate(readFileSync(join(templates, name), 'utf8'), placeholders));
    }
  });

  it('points every Asterisk directory at the installation or the state directory, none with a dot, and creates the state folders', () => {
    const result = render({ ARI_PASSWORD: 'pw' });
    expect(result.status, result.stderr).toBe(0);
    const directories = section(result.file('asterisk.conf'), 'directories');
    expect(directories).toMatchObject({
      astetcdir: result.etc,
      astmoddir: '/opt/asterisk/lib/asterisk/modules',
      astdatadir: '/opt/asterisk/var/lib/asterisk',
      astsbindir: '/opt/asterisk/sbin',
      astspooldir: `${result.state}/spool`,
      astcachedir: `${result.state}/cache`,
      astrundir: `${result.state}/run`,
      astlogdir: `${result.state}/log`,
    });
    for (const [name, path] of Object.entries(directories)) {
      expect(path, name).not.toContain('.');
      if (path.startsWith(result.state)) expect(statSync(path).isDirectory(), name).toBe(true);
    }
  });

  it('writes the password as given, even with characters sed treats specially', () => {
    const password = String.raw`p&ss|w/rd\1`;
    const result = render({ ARI_PASSWORD: password, ARI_USER: 'avp' });
    expect(result.status, result.stderr).toBe(0);
    expect(section(result.file('ari.conf'), 'avp').password).toBe(password);
  });

  it.each([
    ['no ARI_PASSWORD', {}, 'ARI_PASSWORD is required'],
    ['an empty ARI_PASSWORD', { ARI_PASSWORD: '' }, 'ARI_PASSWORD is required'],
    ['a password Asterisk would cut at ";"', { ARI_PASSWORD: 'pass;word' }, 'ARI_PASSWORD must not contain ";"'],
    ['a state directory with a dot', { ARI_PASSWORD: 'pw', ASTERISK_STATE_DIR: '/home/me/.cache/asterisk' }, 'ASTERISK_STATE_DIR must not contain a "."'],
    ['a relative directory', { ARI_PASSWORD: 'pw', ASTERISK_PREFIX: 'opt/asterisk' }, 'ASTERISK_PREFIX must be an absolute path'],
    ['a port out of range', { ARI_PASSWORD: 'pw', ARI_PORT: '70000' }, 'ARI_PORT must be a port number'],
    ['a port too long for shell arithmetic', { ARI_PASSWORD: 'pw', RTP_END: '99999999999999999999' }, 'RTP_END must be a port number'],
    ['an RTP range upside down', { ARI_PASSWORD: 'pw', RTP_START: '10200', RTP_END: '10000' }, 'RTP_START (10200) must not be above RTP_END'],
    ['a Stasis app name that would break the dialplan', { ARI_PASSWORD: 'pw', ARI_APP: 'a,b' }, 'ARI_APP may hold only'],
    ['a host name as the bind address', { ARI_PASSWORD: 'pw', ARI_BIND_ADDRESS: 'asterisk' }, 'ARI_BIND_ADDRESS must be an IP address'],
  ])('refuses %s with exit status 78 and renders nothing', (_, variables, message) => {
    const result = render(variables);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain(message);
    expect(existsSync(result.etc)).toBe(false);
  });

  it('refuses a template with a placeholder it has no value for, naming it, and leaves the folder without it', () => {
    const own = join(scratch, 'templates');
    mkdirSync(own);
    writeFileSync(join(own, 'asterisk.conf'), '[directories]\nastetcdir => @@ETC_DIR@@\n');
    writeFileSync(join(own, 'pjsip.conf'), '[trunk]\nhost = @@SIP_HOST@@\n');
    const result = render({ ARI_PASSWORD: 'pw', ASTERISK_TEMPLATE_DIR: own });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('pjsip.conf:@@SIP_HOST@@');
    expect(readdirSync(result.etc)).toEqual([]);
  });

  it('runs the command it is given once the files are in place', () => {
    const base = join(scratch, 'exec');
    const result = render({ ARI_PASSWORD: 'pw', ASTERISK_ETC_DIR: `${base}/etc` }, ['cat', `${base}/etc/rtp.conf`]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('rtpstart = 10000');
  });
});

describe('infra/asterisk/Dockerfile', () => {
  const dockerfile = readFileSync(join(asteriskDirectory, 'Dockerfile'), 'utf8');
  const buildScript = readFileSync(join(root, 'scripts', 'asterisk', 'build.sh'), 'utf8');
  const flags = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((match) => match[0]).sort();

  it('builds the Asterisk the tests run: same version and checksum, same configure and menuselect options', () => {
    expect(dockerfile).toContain(`ARG ASTERISK_VERSION=${/^VERSION=(\S+)$/m.exec(buildScript)![1]}`);
    expect(dockerfile).toContain(`ARG ASTERISK_SHA256=${/^SHA256=(\S+)$/m.exec(buildScript)![1]}`);
    expect(dockerfile).toContain('sha256sum -c');
    expect(flags(dockerfile, /--with(out)?-[a-z-]+/g)).toEqual(flags(buildScript, /--with(out)?-[a-z-]+/g));
    expect(flags(dockerfile, /--disable-category \S+/g)).toEqual(flags(buildScript, /--disable-category \S+/g));
  });

  it('renders the configuration with render-config.sh before Asterisk starts, as a non-root user', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"\/opt\/avp-asterisk\/render-config\.sh"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["\/opt\/asterisk\/sbin\/asterisk", "-f".*"-C", "\/etc\/asterisk\/asterisk\.conf"\]$/m);
    expect(dockerfile).toContain('--prefix=/opt/asterisk ');
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('exposes ARI and the RTP range render-config.sh defaults to', () => {
    const defaults = Object.fromEntries([...readFileSync(script, 'utf8').matchAll(/^([A-Z_]+)="\$\{\1:-([^}]*)\}"$/gm)].map((match) => [match[1], match[2]]));
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${defaults.ARI_PORT}/tcp ${defaults.RTP_START}-${defaults.RTP_END}/udp$`, 'm'));
    expect(defaults).toMatchObject({ ASTERISK_PREFIX: '/opt/asterisk', ASTERISK_ETC_DIR: '/etc/asterisk', ARI_BIND_ADDRESS: '0.0.0.0' });
  });

  it('copies only what exists in its build context, infra/asterisk', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)].map((match) => match[1]!);
    expect(sources).toEqual(expect.arrayContaining(['conf', 'render-config.sh', 'runtime-packages.sh']));
    for (const source of sources) expect(existsSync(join(asteriskDirectory, source)), source).toBe(true);
  });
});
