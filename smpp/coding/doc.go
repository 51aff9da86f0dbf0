// Package coding turns text into the octets of SMS parts and back: the
// alphabets an SMSC speaks, the choice between them, splitting a long text
// into concatenated parts, and joining incoming parts into one message.
//
// # Alphabets
//
// GSM 7-bit follows 3GPP TS 23.038 §6.2.1: the default alphabet and its
// extension table behind the escape 0x1B, where an extension character costs
// two septets. Over SMPP, data_coding 0 carries it unpacked, one septet per
// octet; Pack and Unpack give the packed form of §6.1.2.1.1 with the fill bits
// a user data header requires and the CR padding of §6.1.2.3.1. Latin-1 is
// data_coding 3; UCS-2 (data_coding 8) is written as UTF-16BE with surrogate
// pairs for characters outside the BMP, which is what handsets display.
// DataCoding maps an encoding to the SMPP 3.4 §5.2.19 data_coding value, with
// the 23.038 §4 class 0 forms for flash messages.
//
// A character the chosen alphabet cannot carry is a *CharError naming it and
// its position; nothing is ever replaced by '?'. Auto picks GSM 7-bit when
// every character fits, else UCS-2.
//
// Decode reads any incoming data_coding by the SMPP 3.4 table (0x00-0x0F) and
// the 23.038 §4 coding groups (the rest), tolerantly: it never fails on the
// content, and data it cannot read as text comes back as hexadecimal.
//
// # Splitting
//
// One SMS carries 140 octets of user data (23.040 §9.2.3.16): 160 septets, 140
// octets or 70 UTF-16 units. A concatenation header (23.040 §9.2.3.24.1 with an
// 8-bit reference, §9.2.3.24.8 with a 16-bit one) takes 6 or 7 octets of that,
// leaving 153/134/67 or 152/133/66. Split cuts between characters only, so an
// escape pair or a surrogate pair never straddles two parts, and a packed
// part never ends in a CR whose doubling (23.038 §6.1.2.3.1) would not fit;
// Count answers how many parts a text needs without building them. The same text, Options
// and reference always give the same octets, so a part sent again is
// identical to the first.
//
// # Reassembly
//
// ParseUDH reads a user data header with bounds checks and keeps every
// element; UDH.Concat extracts the concatenation element. A Reassembler keys
// the parts of incoming messages by ConcatKey, drops duplicates and invalid
// part numbers, and joins the raw octets before decoding once with
// JoinDecode, because an escape or a surrogate pair may be cut between two
// parts. The agent keeps its parts durably and reuses ConcatKey and
// JoinDecode; the Reassembler is the in-memory form the SMSC simulator uses.
//
// The package imports only the standard library.
package coding
