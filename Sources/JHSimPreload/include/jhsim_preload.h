/*
 * libjhsim-preload: lets an unmodified program (the real `jailhouse` tool, chcpu, a
 * shell) drive a jhsim lab. Loaded with LD_PRELOAD; see Docs/real-tool.md.
 *
 * The library exports the libc functions it interposes and nothing else of interest;
 * this header only names the version of its request protocol with jhsim.
 */
#ifndef JHSIM_PRELOAD_H
#define JHSIM_PRELOAD_H

#define JHSIM_PRELOAD_PROTOCOL 1

#endif
