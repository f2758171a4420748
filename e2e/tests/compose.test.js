// The container deployment, read as files: docker-compose.yml (PostgreSQL, Redis, chat-1..chat-3,
// nginx, and coturn for calls under the "turn" profile), the Dockerfile stages it builds, and
// nginx/nginx.conf (the rendering of
// nginx/nginx.conf.template for those services). Docker is not needed: this checks that the
// pieces agree with each other and with what the chat needs behind a load balancer.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import YAML from 'yaml';
import { REPO_ROOT, renderTemplate } from '../lib/server.js';

const CHAT_SERVICES = ['chat-1', 'chat-2', 'chat-3'];
/** Engine.io ping interval + ping timeout (s): a proxy must keep a quiet connection longer. */
const PING_WINDOW_S = 25 + 20;
/** Largest upload (25 MiB): nginx must accept at least that plus multipart overhead. */
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

/** The values nginx/nginx.conf is rendered with (see nginx/README.md). */
const COMPOSE_NGINX_VALUES = {
  MAIN: 'user nginx;',
  PID_FILE: '/var/run/nginx.pid',
  ERROR_LOG: '/var/log/nginx/error.log',
  ACCESS_LOG: '/var/log/nginx/access.log',
  TEMP_DIR: '/var/cache/nginx',
  MIME_TYPES: '/etc/nginx/mime.types',
  STICKY: 'hash $remote_addr consistent;',
  UPSTREAMS: CHAT_SERVICES.map((name) => `server ${name}:3000 max_fails=0;`),
  LISTEN: '80',
  CLIENT_DIR: '/usr/share/nginx/html',
};

const read = (file) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

// ---------------------------------------------------------------- nginx configuration

/** Parses nginx configuration text into [{name, args, children?}] (comments dropped). */
function parseNginx(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ type: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++;
        value += text[j++];
      }
      assert.ok(j < text.length, `unterminated string in nginx configuration at offset ${i}`);
      tokens.push({ type: 'word', value });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;{}]/.test(text[j])) j++;
      tokens.push({ type: 'word', value: text.slice(i, j) });
      i = j;
    }
  }
  let pos = 0;
  const block = (depth) => {
    const nodes = [];
    while (pos < tokens.length) {
      if (tokens[pos].type === '}') {
        assert.ok(depth > 0, 'unbalanced "}" in nginx configuration');
        pos++;
        return nodes;
      }
      const words = [];
      while (pos < tokens.length && tokens[pos].type === 'word') words.push(tokens[pos++].value);
      const end = tokens[pos++];
      assert.ok(words.length > 0 && end, `malformed nginx configuration near "${words.join(' ')}"`);
      const node = { name: words[0], args: words.slice(1) };
      if (end.type === '{') node.children = block(depth + 1);
      else assert.equal(end.type, ';', `directive "${words.join(' ')}" is not terminated by ";"`);
      nodes.push(node);
    }
    assert.equal(depth, 0, 'unbalanced "{" in nginx configuration');
    return nodes;
  };
  return block(0);
}

const directives = (nodes, name) => nodes.filter((n) => n.name === name);
const single = (nodes, name, where) => {
  const found = directives(nodes, name);
  assert.equal(found.length, 1, `expected one "${name}" in ${where}, found ${found.length}`);
  return found[0];
};

/**
 * The directives `name` in force in the innermost block of `chain` (outermost first): nginx
 * inherits array directives such as proxy_set_header only when a level defines none itself.
 */
function inherited(chain, name) {
  for (const level of [...chain].reverse()) {
    const found = directives(level, name);
    if (found.length) return found;
  }
  return [];
}

/** nginx time ("75s", "1m", "1m30s", "75" = seconds) in seconds. */
function seconds(value) {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  if (/^\d+$/.test(value)) return Number(value);
  let total = 0;
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let match;
  let consumed = 0;
  while ((match = re.exec(value))) {
    total += Number(match[1]) * units[match[2]];
    consumed = re.lastIndex;
  }
  assert.equal(consumed, value.length, `not an nginx time: ${value}`);
  return total;
}

/** nginx size ("6m", "6144k", "6291456") in bytes. */
function bytes(value) {
  const match = /^(\d+)([kKmMgG]?)$/.exec(value);
  assert.ok(match, `not an nginx size: ${value}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase()];
  return Number(match[1]) * unit;
}

// ---------------------------------------------------------------- compose helpers

/** A service's environment as an object, whether written as a map or a list. */
function environment(service) {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? v : String(v)]));
  return Object.fromEntries(
    env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, undefined] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

/** A healthcheck's command as one string. */
function healthcheckCommand(service) {
  const test = service.healthcheck?.test;
  if (Array.isArray(test)) return test.filter((part) => !['CMD', 'CMD-SHELL'].includes(part)).join(' ');
  return typeof test === 'string' ? test : '';
}

/** A service's volume mounts as [{source, target, readOnly}]. */
function mounts(service) {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume === 'object') {
      return { source: volume.source, target: volume.target, readOnly: Boolean(volume.read_only) };
    }
    const [source, target, mode] = volume.split(':');
    return { source, target, readOnly: mode === 'ro' };
  });
}

/** depends_on as {service: condition}. */
function dependencies(service) {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition ?? 'service_started']));
}

/** Published ports as [{host, container}]. */
function ports(service) {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { host: String(port.published), container: String(port.target) };
    const parts = String(port).split(':');
    return { host: parts.at(-2), container: parts.at(-1).split('/')[0] };
  });
}

/**
 * coturn's options as {name: [value, ...]} (true for a flag), from the `exec turnserver ...` line of
 * a shell entrypoint and the command list: `--name=value`, `--flag` and `-x value`.
 */
function turnserverOptions(service) {
  const words = [];
  const script = [].concat(service.entrypoint ?? []).join(' ');
  const exec = /\bexec\s+turnserver\b(.*)$/s.exec(script);
  if (exec) words.push(...(exec[1].match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []));
  words.push(...[].concat(service.command ?? []).map(String));
  const options = {};
  for (let i = 0; i < words.length; i++) {
    const long = /^--([a-zA-Z][\w-]*)(?:=(.*))?$/s.exec(words[i]);
    const short = /^-([a-zA-Z])$/.exec(words[i]);
    if (long) {
      (options[long[1]] ??= []).push(long[2] === undefined ? true : long[2].replace(/^"(.*)"$/s, '$1'));
    } else if (short) {
      (options[short[1]] ??= []).push(words[i + 1] !== undefined && !words[i + 1].startsWith('-') ? words[++i] : true);
    }
  }
  return options;
}

/** An IPv4 address as a number. */
const ipv4 = (address) => address.split('.').reduce((n, part) => n * 256 + Number(part), 0);

describe('docker-compose deployment', () => {
  let compose;
  let services;
  let nginx;
  let http;
  let server;
  let upstream;

  before(() => {
    compose = YAML.parse(read('docker-compose.yml'), { merge: true });
    services = compose?.services ?? {};
    nginx = parseNginx(read('nginx/nginx.conf'));
    http = single(nginx, 'http', 'nginx.conf').children;
    server = single(http, 'server', 'http').children;
    const upstreams = directives(http, 'upstream');
    assert.equal(upstreams.length, 1, `expected one upstream block, found ${upstreams.length}`);
    upstream = upstreams[0];
  });

  /** The chain of blocks [http, server, location] of the location whose path is `prefix`. */
  function location(prefix) {
    const found = directives(server, 'location').filter((l) => l.args.at(-1) === prefix);
    assert.equal(found.length, 1, `expected one "location ${prefix}" in nginx.conf, found ${found.length}`);
    return [http, server, found[0].children];
  }

  it('has postgres, redis, chat-1..chat-3, nginx, and coturn under the "turn" profile', () => {
    for (const name of ['postgres', 'redis', ...CHAT_SERVICES, 'nginx', 'coturn']) {
      assert.ok(services[name], `service "${name}" missing from docker-compose.yml`);
    }
    assert.deepEqual(services.coturn.profiles, ['turn'], 'coturn is optional: only with --profile turn');
    assert.match(String(services.coturn.image), /^coturn\/coturn(:|$)/, 'coturn runs the coturn/coturn image');
  });

  it('postgres and redis have healthchecks', () => {
    assert.match(healthcheckCommand(services.postgres), /pg_isready/, 'postgres healthcheck must run pg_isready');
    assert.match(healthcheckCommand(services.redis), /redis-cli .*ping/i, 'redis healthcheck must run redis-cli ping');
    assert.match(String(services.redis.image), /^redis:7/, 'the Socket.IO Redis adapter needs Redis 7 (RESP3)');
  });

  for (const name of CHAT_SERVICES) {
    it(`${name}: database, Redis, shared JWT secret, production settings`, () => {
      const env = environment(services[name]);
      const pgUser = environment(services.postgres).POSTGRES_USER ?? 'postgres';
      const pgDb = environment(services.postgres).POSTGRES_DB ?? pgUser;
      assert.match(env.DATABASE_URL ?? '', /^postgres(ql)?:\/\//, `${name}: DATABASE_URL must be a PostgreSQL URL`);
      const dbUrl = new URL(env.DATABASE_URL.replace(/\$\{[^}]*\}/g, 'x'));
      assert.equal(dbUrl.hostname, 'postgres', `${name}: DATABASE_URL must point at the postgres service`);
      assert.equal(dbUrl.username, pgUser, `${name}: DATABASE_URL user`);
      assert.equal(dbUrl.pathname, `/${pgDb}`, `${name}: DATABASE_URL database`);
      // redis://:${REDIS_PASSWORD...}@redis:6379: the service, with the password Redis requires.
      const redisUrl = String(env.REDIS_URL ?? '');
      assert.match(redisUrl, /^redis:\/\/:\$\{REDIS_PASSWORD(:\?[^}]+)?\}@redis(:6379)?\/?$/, `${name}: REDIS_URL must point at the redis service with \${REDIS_PASSWORD} (got ${redisUrl})`);
      assert.match(
        env.JWT_SECRET ?? '',
        /^\$\{JWT_SECRET:\?[^}]+\}$/,
        `${name}: JWT_SECRET must come from the environment / .env and be required ("\${JWT_SECRET:?...}")`,
      );
      assert.equal(env.HOST, '0.0.0.0', `${name}: HOST must be 0.0.0.0 to be reachable from nginx`);
      // Rate limits count per client address: the instances must believe nginx's X-Forwarded-For,
      // or every user behind nginx shares one budget.
      const nginxAddress = services.nginx?.networks?.default?.ipv4_address;
      assert.ok(nginxAddress, 'nginx needs a fixed address on the default network for TRUSTED_PROXIES');
      const trusted = String(env.TRUSTED_PROXIES ?? '').split(',').map((ip) => ip.trim());
      assert.ok(trusted.includes(nginxAddress), `${name}: TRUSTED_PROXIES (${env.TRUSTED_PROXIES}) must include nginx (${nginxAddress})`);
      assert.equal(env.APP_ENV, 'production', `${name}: APP_ENV`);
    });

    it(`${name}: healthcheck on /health, the shared uploads volume, waits for healthy postgres and redis`, () => {
      const service = services[name];
      const env = environment(service);
      const port = env.PORT ?? '3000';
      assert.match(healthcheckCommand(service), new RegExp(`:${port}/health\\b`), `${name}: healthcheck must GET /health`);
      const uploadDir = env.UPLOAD_DIR || `${(env.DATA_DIR ?? '/app/data').replace(/\/$/, '')}/uploads`;
      const uploads = mounts(service).find((m) => m.source === 'uploads');
      assert.ok(uploads, `${name}: the "uploads" volume is not mounted`);
      assert.equal(uploads.target, uploadDir, `${name}: the uploads volume must be mounted at the upload directory`);
      assert.ok(!uploads.readOnly, `${name}: uploads must be writable`);
      assert.ok(compose.volumes && 'uploads' in compose.volumes, 'top-level volume "uploads" is not declared');
      const deps = dependencies(service);
      assert.equal(deps.postgres, 'service_healthy', `${name}: depends_on postgres must wait for service_healthy`);
      assert.equal(deps.redis, 'service_healthy', `${name}: depends_on redis must wait for service_healthy`);
    });
  }

  it('redis requires a password taken from the environment, and it is required', () => {
    const redis = services.redis;
    const env = environment(redis);
    assert.match(
      String(env.REDIS_PASSWORD ?? ''),
      /^\$\{REDIS_PASSWORD:\?[^}]+\}$/,
      'redis: REDIS_PASSWORD must come from .env and be required ("${REDIS_PASSWORD:?...}")',
    );
    const command = [].concat(redis.command ?? []).join(' ');
    assert.match(command, /--requirepass\s+\\?"?\$\$REDIS_PASSWORD/, `redis must run with --requirepass "$$REDIS_PASSWORD" (got ${command})`);
    assert.ok(!/requirepass\s+[^"$\s\\]/.test(command), `redis: a literal password in the command: ${command}`);
    // The healthcheck has to authenticate too, or it reports NOAUTH as healthy or never healthy.
    assert.match(healthcheckCommand(redis), /REDISCLI_AUTH=|-a\s|--pass|AUTH/, 'the redis healthcheck must authenticate');
    assert.ok(!redis.ports, 'redis must not publish a port');
  });

  it('metrics stay off the public port: their own listener, never published or proxied', () => {
    for (const name of CHAT_SERVICES) {
      const service = services[name];
      const env = environment(service);
      const port = env.PORT ?? '3000';
      const metrics = String(env.METRICS_ADDR ?? '127.0.0.1:9100');
      const metricsPort = metrics.split(':').at(-1);
      assert.notEqual(metricsPort, port, `${name}: METRICS_ADDR must not be the public port`);
      assert.ok(!service.ports, `${name}: publishes ports (${JSON.stringify(service.ports)})`);
      assert.ok(!('METRICS_TOKEN' in env) || /^\$\{METRICS_TOKEN[:-]/.test(String(env.METRICS_TOKEN)), `${name}: METRICS_TOKEN must come from .env`);
    }
    const proxied = directives(server, 'location').filter((l) => /metrics/.test(l.args.join(' ')));
    assert.deepEqual(proxied, [], 'nginx must not route /metrics');
    assert.ok(!ports(services.nginx).some((p) => p.container === '9100'), 'nginx publishes the metrics port');
  });

  it('the chat instances run one image with one configuration', () => {
    const [first, ...others] = CHAT_SERVICES.map((name) => services[name]);
    for (const [index, other] of others.entries()) {
      const name = CHAT_SERVICES[index + 1];
      assert.deepEqual(other.image, first.image, `${name}: image differs from chat-1`);
      assert.deepEqual(other.build, first.build, `${name}: build differs from chat-1`);
      assert.deepEqual(environment(other), environment(first), `${name}: environment differs from chat-1`);
    }
  });

  it('the Dockerfile has the stages compose builds, runs as non-root and checks /health', () => {
    const dockerfile = read('Dockerfile');
    const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    for (const service of Object.values(services)) {
      if (service.build?.target) {
        assert.ok(stages.includes(service.build.target), `Dockerfile has no stage "${service.build.target}"`);
      }
    }
    const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER\s+(\S+)/m.exec(lastStage)?.[1];
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `the runtime stage must run as a non-root USER (got ${user})`);
    assert.match(lastStage, /^HEALTHCHECK[\s\S]*\/health/m, 'the runtime stage needs a HEALTHCHECK on /health');
  });

  it('nginx.conf is nginx.conf.template rendered for these services', () => {
    const rendered = renderTemplate(read('nginx/nginx.conf.template'), COMPOSE_NGINX_VALUES);
    assert.equal(read('nginx/nginx.conf'), rendered, 'nginx/nginx.conf is out of date: render the template again (nginx/README.md)');
  });

  it('the nginx upstreams are exactly the chat services on their port', () => {
    const servers = directives(upstream.children, 'server').map((s) => s.args[0]);
    const expected = CHAT_SERVICES.map((name) => `${name}:${environment(services[name]).PORT ?? '3000'}`);
    assert.deepEqual([...servers].sort(), [...expected].sort(), 'upstream servers');
    // One failed request must not take an instance out of rotation: that would move every
    // client pinned to it to another instance and break their Socket.IO sessions.
    for (const entry of directives(upstream.children, 'server')) {
      assert.ok(entry.args.includes('max_fails=0'), `upstream server ${entry.args[0]} needs max_fails=0`);
    }
    for (const name of CHAT_SERVICES) {
      const port = environment(services[name]).PORT ?? '3000';
      const exposed = (services[name].expose ?? []).map(String);
      if (exposed.length) assert.ok(exposed.includes(port), `${name}: expose does not include ${port}`);
    }
  });

  it('nginx pins each client to one instance (hash $remote_addr consistent)', () => {
    const hash = directives(upstream.children, 'hash');
    assert.equal(hash.length, 1, 'the upstream needs a "hash" directive for sticky sessions');
    assert.deepEqual(hash[0].args, ['$remote_addr', 'consistent']);
  });

  it('nginx upgrades WebSockets on /socket.io/ and keeps quiet connections past the ping window', () => {
    const map = directives(http, 'map').find((m) => m.args[0] === '$http_upgrade' && m.args[1] === '$connection_upgrade');
    assert.ok(map, 'missing "map $http_upgrade $connection_upgrade"');
    const mapDefault = directives(map.children, 'default')[0];
    assert.deepEqual(mapDefault?.args, ['upgrade'], 'the map must default to "upgrade"');

    const chain = location('/socket.io/');
    const proxyPass = inherited(chain, 'proxy_pass');
    assert.deepEqual(proxyPass[0]?.args, [`http://${upstream.args[0]}`], '/socket.io/ must be proxied to the upstream');
    assert.deepEqual(inherited(chain, 'proxy_http_version')[0]?.args, ['1.1'], 'WebSockets need proxy_http_version 1.1');
    const headers = Object.fromEntries(inherited(chain, 'proxy_set_header').map((h) => [h.args[0].toLowerCase(), h.args[1]]));
    assert.equal(headers.upgrade, '$http_upgrade', 'proxy_set_header Upgrade $http_upgrade');
    assert.equal(headers.connection, '$connection_upgrade', 'proxy_set_header Connection $connection_upgrade');
    for (const name of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const value = inherited(chain, name)[0]?.args[0] ?? '60s';
      assert.ok(seconds(value) > PING_WINDOW_S, `${name} ${value} must exceed ${PING_WINDOW_S} s (ping interval + timeout)`);
    }
  });

  it('nginx forwards the client address and scheme, and proxies /api/, /socket.io/ and /health', () => {
    for (const prefix of ['/api/', '/socket.io/', '/health']) {
      const chain = location(prefix);
      assert.deepEqual(inherited(chain, 'proxy_pass')[0]?.args, [`http://${upstream.args[0]}`], `${prefix} must be proxied to the upstream`);
      const headers = Object.fromEntries(inherited(chain, 'proxy_set_header').map((h) => [h.args[0].toLowerCase(), h.args[1]]));
      assert.equal(headers['x-forwarded-for'], '$proxy_add_x_forwarded_for', `${prefix}: X-Forwarded-For`);
      assert.equal(headers['x-forwarded-proto'], '$scheme', `${prefix}: X-Forwarded-Proto`);
      assert.equal(headers['x-real-ip'], '$remote_addr', `${prefix}: X-Real-IP`);
      // The API compares Origin with Host for cookie requests: Host must keep the port.
      assert.equal(headers.host, '$http_host', `${prefix}: Host must be $http_host`);
    }
  });

  it('nginx serves the built client with a single-page-app fallback and gzip, and accepts uploads', () => {
    const root = directives(server, 'root')[0]?.args[0];
    assert.equal(root, COMPOSE_NGINX_VALUES.CLIENT_DIR, 'root must be where the image puts the built client');
    const tryFiles = inherited(location('/'), 'try_files')[0]?.args;
    assert.deepEqual(tryFiles, ['$uri', '/index.html'], 'location / must fall back to /index.html');
    assert.deepEqual(directives(http, 'gzip')[0]?.args, ['on'], 'gzip on');
    const types = directives(http, 'gzip_types').flatMap((d) => d.args);
    for (const type of ['text/css', 'application/javascript']) assert.ok(types.includes(type), `gzip_types lacks ${type}`);
    const maxBody = inherited([http, server], 'client_max_body_size')[0]?.args[0];
    assert.ok(maxBody, 'client_max_body_size is not set (nginx defaults to 1m)');
    assert.ok(bytes(maxBody) > MAX_UPLOAD_BYTES, `client_max_body_size ${maxBody} must exceed 25 MiB`);
  });

  it('the chat instances get the ICE servers and the TURN secret from the environment', () => {
    for (const name of CHAT_SERVICES) {
      const env = environment(services[name]);
      for (const key of ['STUN_URLS', 'TURN_URLS', 'TURN_SECRET']) {
        assert.ok(key in env, `${name}: ${key} missing`);
        assert.match(String(env[key]), new RegExp(`^\\$\\{${key}[:?-]`), `${name}: ${key} must come from .env (got ${env[key]})`);
      }
    }
  });

  it('coturn checks TURN REST credentials signed with the instances\' TURN_SECRET', () => {
    const coturn = services.coturn;
    const options = turnserverOptions(coturn);
    assert.deepEqual(options['use-auth-secret'], [true], 'coturn needs use-auth-secret (the TURN REST scheme)');
    const secrets = options['static-auth-secret'] ?? [];
    assert.equal(secrets.length, 1, `one static-auth-secret, got ${JSON.stringify(secrets)}`);
    // A reference to the container's environment ($$NAME: compose leaves "$NAME" to the shell),
    // never the secret itself.
    const reference = /^\$\$\{?(\w+)\}?$/.exec(secrets[0]);
    assert.ok(reference, `static-auth-secret must be read from the environment, got ${secrets[0]}`);
    const coturnEnv = environment(coturn);
    const chatEnv = environment(services[CHAT_SERVICES[0]]);
    assert.equal(coturnEnv[reference[1]], chatEnv.TURN_SECRET, `coturn's ${reference[1]} must be the instances' TURN_SECRET`);
    assert.match(String(chatEnv.TURN_SECRET), /^\$\{TURN_SECRET[:?-]/);
    // With an empty secret anyone could sign credentials: coturn must not start.
    const script = [].concat(coturn.entrypoint ?? []).join(' ');
    const guard = `[ -n "$$${reference[1]}" ] ||`;
    const afterGuard = script.slice(script.indexOf(guard));
    assert.ok(script.includes(guard) && /^[^}]*\bexit 1\b/.test(afterGuard), `coturn must refuse to start with an empty secret: ${script}`);
    assert.ok(options.realm?.[0] && options.realm[0] !== true, 'coturn needs a realm');
    assert.deepEqual(options.c, ['/dev/null'], 'no configuration file: everything is on the command line');
  });

  it('coturn is no open relay: no anonymous access, no CLI, multicast and private peers denied', () => {
    const options = turnserverOptions(services.coturn);
    // lt-cred-mech and user= are static accounts, which use-auth-secret is not to be mixed with.
    for (const open of ['no-auth', 'z', 'allow-loopback-peers', 'server-relay', 'user', 'lt-cred-mech', 'web-admin']) {
      assert.ok(!(open in options), `coturn must not run with -${open.length > 1 ? '-' : ''}${open}`);
    }
    assert.deepEqual(options['no-multicast-peers'], [true], 'no-multicast-peers');
    assert.deepEqual(options['no-cli'], [true], 'no-cli: the telnet CLI would listen on 5766');
    const denied = (options['denied-peer-ip'] ?? []).map((range) => {
      const [first, last = first] = range.split('-');
      return [first, last];
    });
    const ipv4Denied = (address) =>
      denied.some(([first, last]) => first.includes('.') && ipv4(first) <= ipv4(address) && ipv4(address) <= ipv4(last));
    for (const [address, what] of [
      ['10.1.2.3', '10.0.0.0/8'],
      ['172.16.0.1', '172.16.0.0/12'],
      ['172.31.255.254', '172.16.0.0/12'],
      ['192.168.1.1', '192.168.0.0/16'],
      ['127.0.0.1', 'loopback'],
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['0.0.0.1', '0.0.0.0/8'],
    ]) {
      assert.ok(ipv4Denied(address), `coturn must deny relaying to ${what} (${address})`);
    }
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    if (subnet) assert.ok(ipv4Denied(subnet.split('/')[0]), `coturn must deny relaying into the compose network ${subnet}`);
    for (const range of ['::1', 'fc00::', 'fe80::']) {
      assert.ok(denied.some(([first]) => first === range), `coturn must deny relaying to ${range}`);
    }
  });

  it('coturn listens on 3478 over UDP and TCP and relays on a bounded port range', () => {
    const coturn = services.coturn;
    const options = turnserverOptions(coturn);
    assert.deepEqual(options['listening-port'] ?? ['3478'], ['3478'], 'TURN on the standard port 3478');
    for (const off of ['no-udp', 'no-tcp', 'no-udp-relay']) assert.ok(!(off in options), `coturn must not run with --${off}`);
    const min = Number(options['min-port']?.[0]);
    const max = Number(options['max-port']?.[0]);
    assert.ok(min >= 1024 && max > min && max <= 65535, `relay range min-port..max-port (${min}..${max})`);
    if (coturn.network_mode === 'host') {
      // On the host's network coturn binds these itself; published ports would be ignored.
      assert.ok(!coturn.ports, 'ports are meaningless with network_mode: host');
    } else {
      const published = (coturn.ports ?? []).map(String);
      for (const proto of ['udp', 'tcp']) {
        assert.ok(published.some((p) => p === `3478:3478/${proto}`), `coturn must publish 3478/${proto}`);
      }
      assert.ok(published.includes(`${min}-${max}:${min}-${max}/udp`), `coturn must publish its relay range ${min}-${max}/udp one for one`);
    }
  });

  it('the nginx service publishes 8080, mounts nginx.conf and waits for the instances', () => {
    const service = services.nginx;
    const listen = directives(server, 'listen')[0]?.args[0];
    assert.ok(
      ports(service).some((p) => p.host === '8080' && p.container === listen),
      `nginx must publish 8080 to the port nginx.conf listens on (${listen})`,
    );
    const conf = mounts(service).find((m) => m.target === '/etc/nginx/nginx.conf');
    assert.ok(conf, 'nginx/nginx.conf is not mounted at /etc/nginx/nginx.conf');
    assert.equal(path.normalize(conf.source), path.normalize('./nginx/nginx.conf'));
    assert.ok(conf.readOnly, 'mount nginx.conf read-only');
    const deps = dependencies(service);
    for (const name of CHAT_SERVICES) assert.ok(name in deps, `nginx must depend on ${name}`);
  });
});
