// JsSIP, a browser SIP-over-WebSocket client, under node (the `ws` package stands in for
// the browser's WebSocket): registers with digest credentials, sends a MESSAGE,
// unregisters. Prints `STEP <what>` per step passed, `FAIL <why>` and exits 1 otherwise.
global.WebSocket = require('ws');
const JsSIP = require('jssip');
const [url, host, user, password] = process.argv.slice(2);
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), 15000).unref();
const ua = new JsSIP.UA({
  sockets: [new JsSIP.WebSocketInterface(url)],
  uri: `sip:${user}@${host}`,
  password,
  register: false,
  session_timers: false,
  user_agent: 'JsSIP-node-interop',
});
ua.on('connected', () => { console.log('STEP connected'); ua.register(); });
ua.on('registered', (e) => {
  console.log('STEP registered ' + e.response.status_code);
  ua.sendMessage(`sip:bob@${host}`, 'hello over websocket', {
    eventHandlers: {
      succeeded: (m) => { console.log('STEP message ' + m.response.status_code); ua.unregister(); },
      failed: (m) => fail('message ' + m.cause),
    },
  });
});
ua.on('registrationFailed', (e) => fail('registration ' + e.cause));
ua.on('unregistered', (e) => {
  console.log('STEP unregistered ' + (e.response ? e.response.status_code : 'none'));
  ua.stop();
  setTimeout(() => process.exit(0), 200);
});
ua.start();
