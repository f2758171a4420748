// Checks real answers of the server against its own OpenAPI description
// (`GET /api/openapi.json`): the operation of (method, path template), the
// response of the status, and the JSON body against that response's schema
// (JSON Schema 2020-12, the dialect of OpenAPI 3.1).

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// The components are registered as one schema under this id; references into
// them are rewritten to point there. Answers are checked strictly: a field the
// description does not list is a mismatch too (see `prepare`).
const COMPONENTS_ID = 'urn:chat-server:openapi:components';
const LOCAL_REF = '#/components/schemas/';
// Suffix of the open variant of a component (see `prepare`).
const OPEN = '__open';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * A copy of `schema` for validating answers: every `#/components/schemas/X` reference made
 * absolute, and every object closed (`unevaluatedProperties: false`), so that a field the
 * description does not list fails too. The members of an `allOf` (serde's `flatten`) stay open and
 * the object they compose is closed instead, since each member lists only its own fields;
 * `open` leaves `schema` itself open (its nested objects are closed all the same). An object that
 * lists no field at all (`{"type": "object"}`) is any object, and stays open.
 */
function prepare(schema, open = false) {
  if (Array.isArray(schema)) return schema.map((item) => prepare(item));
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [key, field] of Object.entries(schema)) {
    if (key === '$ref' && typeof field === 'string' && field.startsWith(LOCAL_REF)) {
      out[key] = `${COMPONENTS_ID}#/$defs/${field.slice(LOCAL_REF.length)}${open ? OPEN : ''}`;
    } else if (key === 'allOf' && Array.isArray(field)) {
      out[key] = field.map((member) => prepare(member, true));
    } else if (key === 'properties' && field && typeof field === 'object') {
      out[key] = Object.fromEntries(Object.entries(field).map(([name, value]) => [name, prepare(value)]));
    } else {
      out[key] = prepare(field);
    }
  }
  const isObject = out.properties !== undefined || out.allOf !== undefined;
  if (!open && isObject && out.additionalProperties === undefined && out.unevaluatedProperties === undefined) {
    out.unevaluatedProperties = false;
  }
  return out;
}

/** The components as `$defs`: each closed under its name, and open under its name + OPEN. */
function componentDefs(schemas) {
  const defs = {};
  for (const [name, schema] of Object.entries(schemas)) {
    defs[name] = prepare(schema);
    defs[`${name}${OPEN}`] = prepare(schema, true);
  }
  return defs;
}

/** The media type of a Content-Type header value, lower case, without parameters. */
function mediaType(contentType) {
  return (contentType || '').split(';')[0].trim().toLowerCase();
}

function isJson(type) {
  return type === 'application/json' || type.endsWith('+json');
}

/** The error a mismatch throws: what was asked, what came back, and why it does not fit. */
function mismatch(method, urlPath, status, why, text) {
  const excerpt = text && text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
  return new Error(
    `${method} ${urlPath} -> HTTP ${status} does not match the OpenAPI description: ${why}` +
      (excerpt ? `\nbody: ${excerpt}` : ''),
  );
}

export class OpenApiValidator {
  /** Fetches the description from the server at `baseUrl`. */
  static async load(baseUrl) {
    // A server under a strict per-IP limit may ask to wait: the description is read once.
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${baseUrl}/api/openapi.json`);
      if (res.status === 429 && attempt < 10) {
        const wait = Number(res.headers.get('retry-after')) || 1;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        continue;
      }
      if (res.status !== 200) {
        throw new Error(`GET /api/openapi.json: HTTP ${res.status} ${await res.text()}`);
      }
      return new OpenApiValidator(await res.json());
    }
  }

  constructor(document) {
    if (!String(document.openapi).startsWith('3.1.')) {
      throw new Error(`expected an OpenAPI 3.1 document, got ${document.openapi}`);
    }
    this.document = document;
    this.ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: componentDefs(document.components?.schemas ?? {}) });
    this.compiled = new Map();
    // Path templates as patterns; a literal segment wins over a parameter
    // (`/api/users/me` over `/api/users/{id}`), as in the server's router.
    this.templates = Object.keys(document.paths ?? {}).map((template) => {
      const segments = template.split('/');
      return {
        template,
        segments: segments.map((s) => (s.startsWith('{') && s.endsWith('}') ? null : s)),
      };
    });
  }

  /** The path template that `path` (without query) matches, or null. */
  templateOf(path) {
    const segments = path.split('/');
    let best = null;
    for (const candidate of this.templates) {
      if (candidate.segments.length !== segments.length) continue;
      const matches = candidate.segments.every((expected, i) =>
        expected === null ? segments[i] !== '' : expected === segments[i],
      );
      if (matches && (!best || this.#morePrecise(candidate, best))) best = candidate;
    }
    return best?.template ?? null;
  }

  /** Whether `a` has a literal segment first where `b` has a parameter. */
  #morePrecise(a, b) {
    for (let i = 0; i < a.segments.length; i++) {
      const al = a.segments[i] !== null;
      const bl = b.segments[i] !== null;
      if (al !== bl) return al;
    }
    return false;
  }

  #validatorFor(key, schema) {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(prepare(schema));
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /**
   * Throws unless the answer `{status, contentType, text, body}` to `method urlPath` is described:
   * a documented operation, a documented status, and a body of a documented media type that
   * fits its schema (JSON bodies are validated; an empty body is accepted only where the
   * response describes no JSON content).
   */
  check(method, urlPath, { status, contentType, text, body }) {
    const path = new URL(urlPath, 'http://server').pathname;
    const template = this.templateOf(path);
    if (!template) throw mismatch(method, urlPath, status, `no path of the description matches ${path}`, text);
    const lower = method.toLowerCase();
    const operation = METHODS.includes(lower) ? this.document.paths[template][lower] : undefined;
    if (!operation) {
      throw mismatch(method, urlPath, status, `${template} describes no ${method.toUpperCase()}`, text);
    }
    const response = operation.responses?.[String(status)] ?? operation.responses?.default;
    if (!response) {
      const documented = Object.keys(operation.responses ?? {}).join(', ');
      throw mismatch(
        method,
        urlPath,
        status,
        `undocumented status ${status} for ${method.toUpperCase()} ${template} (documented: ${documented})`,
        text,
      );
    }
    const content = response.content ?? {};
    const type = mediaType(contentType);
    const hasBody = text !== undefined && text !== null && text.length > 0 && lower !== 'head';
    if (!hasBody) {
      const expectsJson = Object.keys(content).some(isJson);
      if (expectsJson && lower !== 'head') {
        throw mismatch(method, urlPath, status, `empty body where ${template} ${status} describes JSON`, text);
      }
      return;
    }
    const described = content[type] ?? (isJson(type) ? undefined : content['*/*']);
    if (!described) {
      throw mismatch(
        method,
        urlPath,
        status,
        `a ${type || 'untyped'} body where ${method.toUpperCase()} ${template} ${status} describes ` +
          `${Object.keys(content).join(', ') || 'no body'}`,
        text,
      );
    }
    if (!isJson(type)) return;
    if (!described.schema) {
      throw mismatch(method, urlPath, status, `no schema for the JSON body of ${template} ${status}`, text);
    }
    if (body === null || body === undefined) {
      throw mismatch(method, urlPath, status, 'the body is not valid JSON', text);
    }
    const validate = this.#validatorFor(`${lower} ${template} ${status} ${type}`, described.schema);
    if (!validate(body)) {
      const errors = validate.errors
        .map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)} [${e.schemaPath}]`)
        .join('\n  ');
      throw mismatch(method, urlPath, status, `schema of ${method.toUpperCase()} ${template} ${status}:\n  ${errors}`, text);
    }
  }
}
