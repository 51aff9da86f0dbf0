// An SMPP 3.4 server on npm's smpp package (not ours), for measuring
// smsagent, Kannel and a bare client against the same peer.
//
//   node smsc.js --port P [--rtt MS] [--receipt-delay MS] [--ids dec|hex]
//
// It accepts any bind_transceiver/transmitter/receiver, answers every
// submit_sm with an id after the added round trip, and sends a receipt
// (deliver_sm, esm_class 0x04, "id:… sub:001 dlvrd:001 submit date:… done
// date:… stat:DELIVRD err:000 text:…") that long after the response on a
// bind that can receive (the same one when it is a transceiver). It listens
// on 127.0.0.1 only. On a line "stats" on stdin, and at SIGTERM, it prints
// one JSON line of counters: submits, the time of the first submit and of
// the last submit_sm_resp sent (ms since the epoch), receipts sent,
// acknowledged and refused (each refusal is sent again a second later),
// connections, and for concatenated messages how many went
// over more than one connection and how many had a part arrive before an
// earlier one.
//
// The added round trip: each connection keeps its responses in arrival
// order in one queue, and one timer per connection fires for the head, so
// a burst costs no timer per message; a response leaves within a few
// milliseconds of its due time (Node's timers are millisecond grained).
'use strict';
const smpp = require('smpp');
const readline = require('readline');

const args = process.argv.slice(2);
const opt = (name, def) => {
	const i = args.indexOf('--' + name);
	return i >= 0 ? args[i + 1] : def;
};
const port = Number(opt('port', '0'));
const rtt = Number(opt('rtt', '0'));
const receiptDelay = Number(opt('receipt-delay', '10'));
const idStyle = opt('ids', 'hex');

const stats = {
	submits: 0, responses: 0, firstSubmit: 0, lastResponse: 0,
	receiptsSent: 0, receiptsAcked: 0, receiptsRefused: 0, connections: 0, binds: 0,
	long: 0, longSpread: 0, longOutOfOrder: 0,
};
let nextID = 0;
const messages = new Map(); // "dest/ref" -> {conns: Set, last: seq, parts: n, total, outOfOrder}
const receivers = new Set();

// delayQueue calls fn(item) for each item delay ms after it was pushed, in
// order, with one timer at a time.
function delayQueue(delay, fn) {
	const q = [];
	let timer = null;
	const arm = () => {
		if (timer || q.length === 0) return;
		timer = setTimeout(() => {
			timer = null;
			const now = Date.now();
			while (q.length && q[0].due <= now) fn(q.shift().item);
			arm();
		}, Math.max(0, q[0].due - Date.now()));
	};
	return (item) => {
		if (delay <= 0) return fn(item);
		q.push({due: Date.now() + delay, item});
		arm();
	};
}

function stamp(d) {
	const p = (n) => String(n).padStart(2, '0');
	return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

function concat(pdu) {
	const sm = pdu.short_message;
	if (!sm || !sm.udh) return null;
	for (const ie of sm.udh) {
		if (ie[0] === 0x00 && ie.length >= 5) return {ref: ie[2], total: ie[3], seq: ie[4]};
		if (ie[0] === 0x08 && ie.length >= 6) return {ref: (ie[2] << 8) | ie[3], total: ie[4], seq: ie[5]};
	}
	return null;
}

function record(conn, pdu) {
	const c = concat(pdu);
	if (!c) return;
	const key = pdu.destination_addr + '/' + c.ref + '/' + c.total;
	let m = messages.get(key);
	if (!m) {
		m = {conns: new Set(), last: 0, outOfOrder: false};
		messages.set(key, m);
		stats.long++;
	}
	if (!m.conns.has(conn) && m.conns.size === 1) stats.longSpread++;
	m.conns.add(conn);
	if (c.seq < m.last && !m.outOfOrder) {
		m.outOfOrder = true;
		stats.longOutOfOrder++;
	}
	m.last = Math.max(m.last, c.seq);
}

// deliver sends a receipt and, as SMSCs do, sends it again a second later
// while it is answered with an error (ESME_RTHROTTLED from a client whose
// inbound window is full, a temporary error), on whichever receiving bind
// is there then.
const redeliver = delayQueue(1000, (fields) => {
	const target = receivers.values().next().value;
	if (target) deliver(target, fields);
	else redeliver(fields);
});
function deliver(target, fields) {
	target.deliver_sm(fields, (resp) => {
		if (resp.command_status === 0) {
			stats.receiptsAcked++;
			return;
		}
		stats.receiptsRefused++;
		redeliver(fields);
	});
}

const server = smpp.createServer({debug: false}, (session) => {
	const conn = ++stats.connections;
	let canReceive = false;
	const respond = delayQueue(rtt, ({pdu, id}) => {
		session.send(pdu.response({message_id: id}));
		stats.responses++;
		stats.lastResponse = Date.now();
		receipt({pdu, id});
	});
	const receipt = delayQueue(receiptDelay, ({pdu, id}) => {
		if (!(pdu.registered_delivery & 0x01)) return;
		const target = canReceive ? session : receivers.values().next().value;
		if (!target) return;
		const now = stamp(new Date());
		const text = 'id:' + id + ' sub:001 dlvrd:001 submit date:' + now + ' done date:' + now +
			' stat:DELIVRD err:000 text:' + String((pdu.short_message && pdu.short_message.message) || '').slice(0, 20);
		deliver(target, {
			source_addr: pdu.destination_addr, source_addr_ton: pdu.dest_addr_ton, source_addr_npi: pdu.dest_addr_npi,
			destination_addr: pdu.source_addr, dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi,
			esm_class: 0x04, short_message: {message: text},
		});
		stats.receiptsSent++;
	});
	const bind = (pdu, receives) => {
		stats.binds++;
		canReceive = receives;
		if (receives) receivers.add(session);
		session.send(pdu.response({system_id: 'nodesmsc'}));
	};
	session.on('bind_transceiver', (pdu) => bind(pdu, true));
	session.on('bind_receiver', (pdu) => bind(pdu, true));
	session.on('bind_transmitter', (pdu) => bind(pdu, false));
	session.on('submit_sm', (pdu) => {
		if (stats.submits++ === 0) stats.firstSubmit = Date.now();
		record(conn, pdu);
		const n = ++nextID;
		respond({pdu, id: idStyle === 'dec' ? String(n) : n.toString(16).padStart(8, '0')});
	});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => {
		session.send(pdu.response());
		session.close();
	});
	session.on('close', () => receivers.delete(session));
	session.on('error', () => receivers.delete(session));
});

server.listen(port, '127.0.0.1', () => {
	process.stdout.write(JSON.stringify({listening: server.address().port}) + '\n');
});
const report = () => process.stdout.write(JSON.stringify(stats) + '\n');
readline.createInterface({input: process.stdin}).on('line', (l) => {
	if (l.trim() === 'stats') report();
});
process.on('SIGTERM', () => {
	report();
	process.exit(0);
});
