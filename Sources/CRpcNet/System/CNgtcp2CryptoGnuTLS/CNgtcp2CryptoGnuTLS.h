// The header of the system-library module CNgtcp2CryptoGnuTLS (module.modulemap beside it).
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
