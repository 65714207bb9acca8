// Runs inside a network namespace of its own (see netns.ts), in front of a command that runs
// there too: every connection accepted on a listed in-namespace address is passed to a Unix
// socket that the test process serves outside (a file system path crosses network namespaces),
// preceded by one line naming the address it was made to; every connection the test makes to
// the other Unix socket is connected, after its first line "address:port", to that address
// inside. Exits with the command, and passes SIGTERM/SIGINT on to it.
//   node netns-forward.js CONFIG.json -- COMMAND ARGS...
// CONFIG: { "toHost": "/path/out.sock", "fromHost": "/path/in.sock", "listen": [{ "host": "127.0.0.1", "port": 6443 }] }
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const [configFile, separator, command, ...args] = process.argv.slice(2);
if (!configFile || separator !== '--' || !command) {
  console.error('usage: node netns-forward.js CONFIG.json -- COMMAND ARGS...');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configFile, 'utf8'));

const pipe = (a, b) => {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
};

for (const { host, port } of config.listen) {
  createServer((socket) => {
    const out = connect(config.toHost);
    // Written before anything piped: a socket sends what it was given in order once connected.
    out.write(`${socket.localAddress}:${socket.localPort}\n`);
    pipe(socket, out);
  }).listen(port, host);
}

rmSync(config.fromHost, { force: true });
createServer((socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(10);
    if (end < 0) return;
    socket.off('data', onData);
    socket.pause();
    const target = head.subarray(0, end).toString();
    const rest = head.subarray(end + 1);
    const colon = target.lastIndexOf(':');
    const inside = connect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
      if (rest.length) inside.write(rest);
      pipe(socket, inside);
      socket.resume();
    });
    inside.on('error', () => socket.destroy());
  };
  socket.on('data', onData);
}).listen(config.fromHost);

// The command dies with this process, however this one ends.
const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
