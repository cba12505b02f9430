// libcap, for simulated process credentials and for dropping jhsim's own privileges.
#if __has_include(<sys/capability.h>)
#include <sys/capability.h>
#else
#error "libcap headers are missing: install them with 'apt-get install libcap-dev' (or run 'make setup')."
#endif
