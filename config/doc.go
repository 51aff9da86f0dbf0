// Package config reads smsagent's YAML configuration file: the schema, the
// defaults (filled in one place, Default), validation that reports every
// problem at once with its key path, and secrets that cannot leak through
// logs or printing.
//
// # Reading
//
// Load reads a file and Parse reads bytes; both return a complete *Config
// with every default filled in and every path absolute, or an *Error listing
// all problems, one per line:
//
//	smsc.window: must be between 1 and 1000, got 0
//	smsc.windw: unknown key (did you mean window?)
//
// Keys are checked against the schema while walking the YAML document (YAML
// 1.2 via go.yaml.in/yaml/v3), so an unknown or misspelt key is an error that
// names its full path rather than a Go type. A key given with no value (null)
// keeps its default. Relative paths are resolved against the folder of the
// configuration file (Parse: the working folder).
//
// Durations are Go durations ("30s", "10m", "48h") plus a day unit ("7d",
// "1d12h"). Sizes are plain bytes or KiB, MiB, GiB. File modes are octal
// strings ("0640").
//
// # Secrets
//
// The SMSC password and the admin token are Secrets: every way of printing
// one (fmt verbs, String, GoString, encoding.TextMarshaler, JSON, YAML,
// slog.LogValuer) yields "[redacted]"; only Reveal returns the value. The
// password is taken, in order of precedence, from the SMSAGENT_SMSC_PASSWORD
// environment variable, smsc.password_file, or smsc.password.
//
// # SMPP limits
//
// The bind fields are checked against the field sizes of SMPP 3.4 §4.1
// (bind_transmitter, bind_receiver, bind_transceiver) and §5.2.1-§5.2.3,
// §5.2.7: system_id is a C-Octet String of at most 16 octets (15 characters
// plus NUL), password 9 (8), system_type 13 (12), address_range 41 (40).
// Enquire_link (§4.11) must be periodic, so its interval cannot be zero.
//
// Warnings (for example a file that holds a password and is readable by
// others) are returned in Config.Warnings for the caller to log; this
// package never logs.
package config
