/* SPDX-License-Identifier: MIT */
/* libFuzzer: the hook's domain and network-port XML readers. */
#include <libxml/parser.h>

#include "hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hook_input in;

	hook_parse_domain((const char *)data, size, &in);
	for (unsigned i = 0; i < in.n; i++)
		if (!pci_addr_valid(in.dev[i].pci))
			__builtin_trap();
	hook_input_free(&in);
	hook_parse_network((const char *)data, size, &in);
	for (unsigned i = 0; i < in.n; i++)
		if (!pci_addr_valid(in.dev[i].pci))
			__builtin_trap();
	hook_input_free(&in);
	return 0;
}
