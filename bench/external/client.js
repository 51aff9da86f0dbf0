// A bare SMPP client on npm's smpp package: the ceiling a server allows
// with nothing stored. It binds SESSIONS transceivers, keeps WINDOW
// submit_sm outstanding on each until N short messages are answered,
// acknowledges every receipt, and prints one JSON line: the messages, the
// time from the first submit to the last submit_sm_resp, and the receipts
// seen by the time it stops (it waits up to a second past the last
// response for them).
//
//   node client.js --port P [--sessions 4] [--window 10] [--messages 20000]
'use strict';
const smpp = require('smpp');

const args = process.argv.slice(2);
const opt = (name, def) => {
	const i = args.indexOf('--' + name);
	return i >= 0 ? args[i + 1] : def;
};
const port = Number(opt('port', '2775'));
const sessions = Number(opt('sessions', '4'));
const window = Number(opt('window', '10'));
const total = Number(opt('messages', '20000'));

let issued = 0;
let answered = 0;
let receipts = 0;
let first = 0;
let last = 0;

function pump(session, state) {
	while (state.out < window && issued < total) {
		const n = issued++;
		if (n === 0) first = Date.now();
		state.out++;
		session.submit_sm({
			source_addr: 'BENCH', destination_addr: '+4179' + String(n).padStart(7, '0'),
			registered_delivery: 1, short_message: 'bare client message ' + n,
		}, (pdu) => {
			state.out--;
			if (pdu.command_status === 0) answered++;
			last = Date.now();
			if (answered === total) finish();
			pump(session, state);
		});
	}
}

let finished = false;
function finish() {
	if (finished) return;
	finished = true;
	setTimeout(() => {
		process.stdout.write(JSON.stringify({messages: answered, elapsedMs: last - first, receipts}) + '\n');
		process.exit(0);
	}, 1000);
}

let bound = 0;
const all = [];
for (let i = 0; i < sessions; i++) {
	const session = smpp.connect({url: 'smpp://127.0.0.1:' + port, auto_enquire_link_period: 30000});
	all.push(session);
	session.on('deliver_sm', (pdu) => {
		receipts++;
		session.send(pdu.response());
	});
	session.bind_transceiver({system_id: 'bench', password: 'bench'}, (pdu) => {
		if (pdu.command_status !== 0) {
			process.stderr.write('bind refused: ' + pdu.command_status + '\n');
			process.exit(1);
		}
		if (++bound === sessions) all.forEach((s) => pump(s, {out: 0}));
	});
}
