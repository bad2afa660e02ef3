// A raw RFC 6455 client (the `ws` package): opens ws://… offering the given subprotocols
// (comma-separated, or "none"), sends one OPTIONS in a text frame, prints what happens:
//   PROTOCOL <selected>, RESPONSE <status line>, REFUSED <reason>, CLOSED <code>.
const WebSocket = require('ws');
const [url, protocols] = [process.argv[2], process.argv[3]];
const offered = protocols === 'none' ? [] : protocols.split(',');
setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 8000).unref();
const ws = new WebSocket(url, offered);
ws.on('open', () => {
  console.log('PROTOCOL ' + ws.protocol);
  const host = new URL(url).host;
  ws.send(
    `OPTIONS sip:uas@${host} SIP/2.0\r\n` +
    'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport\r\n' +
    'Max-Forwards: 70\r\n' +
    `To: <sip:uas@${host}>\r\n` +
    'From: <sip:probe@df7jal23ls0d.invalid>;tag=hyh8\r\n' +
    'Call-ID: 4ulxrjxsbg1c@df7jal23ls0d.invalid\r\n' +
    'CSeq: 1 OPTIONS\r\n\r\n');
});
ws.on('message', (data, isBinary) => {
  const text = data.toString();
  console.log('RESPONSE ' + text.split('\r\n')[0]);
  const via = text.split('\r\n').find((l) => l.startsWith('Via:'));
  console.log('VIA ' + via);
  console.log('FRAME ' + (isBinary ? 'binary' : 'text'));
  ws.close(1000);
});
ws.on('unexpected-response', (req, res) => { console.log('REFUSED ' + res.statusCode); process.exit(0); });
ws.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(0); });
ws.on('close', (code) => { console.log('CLOSED ' + code); process.exit(0); });
