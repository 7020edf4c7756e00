// Package secrets encrypts webhook secrets at rest: signing secrets and
// credential header values are stored in the database only as ciphertext,
// so a leaked dump or backup does not let anyone sign or call as webhookd.
// Apart from the dev key file helper it does no I/O.
//
// # Keys
//
// A Keyring is parsed from one string, normally an environment variable:
//
//	k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>
//
// The first key encrypts; every key decrypts. Rotation is: put a new key
// first, keep the old ones after it until every stored value has been
// re-encrypted (Keyring.NeedsRotation finds the values still to do,
// Keyring.Reencrypt does one), then drop the old keys.
//
// # Stored format
//
//	enc:v1:<key id>:<base64url without padding of nonce || ciphertext || tag>
//
// It is ASCII, so it fits the existing text columns of every store, and it
// names its key, so a keyring holding several keys needs no trial
// decryption and an operator can tell which key a row still depends on.
// "v1" leaves room for another construction without guessing from content.
// Key ids never contain ':', so the fields split unambiguously.
//
// v1 is AES-256-GCM with a fresh random 96-bit nonce per value. GCM
// authenticates as well as encrypts: an altered value fails to decrypt
// instead of yielding a different secret. Random nonces are safe for up to
// 2^32 values per key, far more than webhookd stores; a counter would need
// state shared between processes.
//
// The additional authenticated data is "enc:v1:<key id>:" followed by the
// caller's context, such as "webhook/<id>/secretKey". The context is not
// stored; it binds the ciphertext to its place, so a value copied to
// another row or field by someone with write access to the database fails
// to decrypt rather than handing one webhook's secret to another.
//
// The empty string is stored as itself: an empty secret means "do not
// sign" and has nothing to hide. Someone able to write the database can
// therefore blank a secret, but not read or forge one.
package secrets
