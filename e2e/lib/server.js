// Test harness: runs the real chat-server binary as a child process and drives it over HTTP
// (global fetch) and Socket.IO (the real socket.io-client from npm), gathered in one place for
// the suites. Each concern lives in its own module:
//
// - chatServer.js: `ChatServer` (a process with its HTTP and sockets) and `startServer`;
// - serverProcess.js: the binary as a child process: environment, start, output, signals, cleanup;
// - databases.js: the database of a run (E2E_DB) and fresh PostgreSQL databases;
// - http.js: requests, the OpenAPI check of every answer, registered users, metrics;
// - serverSockets.js: socket.io-client sockets to one server, closed with it;
// - events.js: waiting on socket events and on time (`waitFor`, `expectNoEvent`, `sleep`, ...);
// - logs.js: what servers log at trace level and the check that secrets stay out of it;
// - repository.js: the repository's root and its text templates.
//
// Environment:
//   CHAT_SERVER_BIN   path of the server binary
//                     (default: ${CARGO_TARGET_DIR || '../target'}/debug/chat-server)
//   E2E_DB            sqlite (default) | postgres
//   PGHOST / PGPORT / PGUSER
//                     PostgreSQL used when E2E_DB=postgres (default 127.0.0.1 / 5432 / postgres,
//                     trust authentication); every server gets its own fresh database.
//   E2E_SERVER_LOG=1  copy the server's output to stderr while the tests run

export { ChatServer, startServer } from './chatServer.js';
export { createPgDatabase, dbMode, dropPgDatabase } from './databases.js';
export { emitAck, expectNoEvent, recordEvents, sleep, waitFor } from './events.js';
export { DEFAULT_PASSWORD, uniqueUsername } from './http.js';
export { TRACE_REQUESTS_LOG, assertNotLogged } from './logs.js';
export { REPO_ROOT, renderTemplate } from './repository.js';
export { serverBinary } from './serverProcess.js';
