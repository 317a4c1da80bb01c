// The header of the system-library module CNgtcp2 (module.modulemap beside it).
#include <ngtcp2/ngtcp2.h>
