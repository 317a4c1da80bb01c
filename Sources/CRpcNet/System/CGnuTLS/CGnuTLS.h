// The header of the system-library module CGnuTLS (module.modulemap beside it).
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
