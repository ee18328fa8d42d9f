// Every validation of spec §5 (check) and the parse-time errors of §3.1-3.2, as a table: a small
// document, the 1-based line and the exact message (`RadlError.detail`). The messages are the
// reference's (spec §5.1-5.2: clients match on them, Python type names included); where the
// spec leaves part of a message open ("…", "<parser message>") the row holds what the code
// writes and says so.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RadlError, checkRadl, parseRadl, parseRadlJson } from "../../../core/radl/index.ts";

interface Failure {
  name: string;
  radl: string;
  line: number | null;
  message: string | RegExp;
}

const MEMORY_UNITS = "['', 'B', 'K', 'KB', 'M', 'MB', 'G', 'GB', 'T', 'TB', 'KI', 'KIB', 'MI', 'MIB', 'GI', 'GIB', 'TI', 'TIB']";

/** §5.1 per-feature checks with the rules of §5.2 (network, system, soft groups, applications). */
const FEATURE_CHECKS: Failure[] = [
  // network
  { name: "network outbound outside {yes, no}", radl: "network n (\noutbound = 'maybe'\n)", line: 2, message: "Invalid value; expected one of ['YES', 'NO']" },
  { name: "network outbound as a number", radl: "network n (\noutbound = 1\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "network outbound with >=", radl: "network n (\noutbound >= 'yes'\n)", line: 2, message: "Invalid operator; expected '='" },
  { name: "network outbound as a list", radl: "network n (\noutbound = ['yes']\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "outports with a port that is not a number", radl: "network n (\noutports = '22-x'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with two different protocols", radl: "network n (\noutports = '22/tcp-22/udp'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with an unknown protocol", radl: "network n (\noutports = '22/sctp'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with upper-case protocol", radl: "network n (\noutports = '22/TCP'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with a trailing comma", radl: "network n (\noutports = '8080,'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with a blank", radl: "network n (\noutports = '80, 443'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports with a bad CIDR", radl: "network n (\noutports = '1.2.3/24-22'\n)", line: 2, message: "Invalid value in property 'outports'" },
  { name: "outports as a number", radl: "network n (\noutports = 22\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "network provider_id as a number", radl: "network n (\nprovider_id = 3\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  // system: strings with a set of values
  { name: "spot outside {yes, no}", radl: "system s (\nspot = 'maybe'\n)", line: 2, message: "Invalid value; expected one of ['YES', 'NO']" },
  { name: "image_type outside the set", radl: "system s (\nimage_type = 'vdi'\n)", line: 2, message: "Invalid value; expected one of ['VMDK', 'QCOW', 'QCOW2', 'RAW']" },
  { name: "cpu.arch outside the set", radl: "system s (\ncpu.arch = 'sparc'\n)", line: 2, message: "Invalid value; expected one of ['I386', 'I686', 'X86_64', 'ARM64', 'AARCH64']" },
  { name: "cpu.arch as an identifier is a syntax error, not a check error", radl: "system s (\ncpu.arch = x86_64\n)", line: 2, message: "Parse error in: LexToken(VAR,'x86_64',2,22)" },
  { name: "cpu.arch with >=", radl: "system s (\ncpu.arch >= 'x86_64'\n)", line: 2, message: "Invalid operator; expected '='" },
  { name: "disk.0.os.name outside the set", radl: "system s (\ndisk.0.os.name = 'solaris'\n)", line: 2, message: "Invalid value; expected one of ['LINUX', 'WINDOWS', 'MAC OS X']" },
  { name: "virtual_system_type as a number", radl: "system s (\nvirtual_system_type = 1\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  // system: numbers
  { name: "cpu.count as a string", radl: "system s (\ncpu.count = '2'\n)", line: 2, message: "Invalid type; expected <class 'float'>" },
  { name: "cpu.count as a list", radl: "system s (\ncpu.count = ['2']\n)", line: 2, message: "Invalid type; expected <class 'float'>" },
  { name: "cpu.count with a unit", radl: "system s (\ncpu.count >= 2 GB\n)", line: 2, message: "Invalid unit; expected none" },
  { name: "price with a unit", radl: "system s (\nprice <= 1 m\n)", line: 2, message: "Invalid unit; expected none" },
  { name: "price as a string", radl: "system s (\nprice = 'cheap'\n)", line: 2, message: "Invalid type; expected <class 'float'>" },
  { name: "gpu.count with a unit", radl: "system s (\ngpu.count = 1 G\n)", line: 2, message: "Invalid unit; expected none" },
  { name: "cpu.performance without a unit", radl: "system s (\ncpu.performance >= 2\n)", line: 2, message: "Invalid unit; expected one of ['ECU', 'GCEU', 'HRZ']" },
  { name: "cpu.performance with a memory unit", radl: "system s (\ncpu.performance >= 2 GB\n)", line: 2, message: "Invalid unit; expected one of ['ECU', 'GCEU', 'HRZ']" },
  // The spec writes "one of [...]"; the code lists the memory units of §6.1, '' (none) first.
  { name: "memory.size with an unknown unit", radl: "system s (\nmemory.size >= 512 XB\n)", line: 2, message: `Invalid unit; expected one of ${MEMORY_UNITS}` },
  { name: "memory.size with a CPU unit", radl: "system s (\nmemory.size >= 512 ECU\n)", line: 2, message: `Invalid unit; expected one of ${MEMORY_UNITS}` },
  { name: "memory.size as a string", radl: "system s (\nmemory.size = '512m'\n)", line: 2, message: "Invalid type; expected <class 'float'>" },
  { name: "disk.1.size with an unknown unit", radl: "system s (\ndisk.0.image.url = 'one://h/1' and\ndisk.1.size = 20 GHz\n)", line: 3, message: `Invalid unit; expected one of ${MEMORY_UNITS}` },
  { name: "disk.0.free_size as a string", radl: "system s (\ndisk.0.free_size = 'big'\n)", line: 2, message: "Invalid type; expected <class 'float'>" },
  // system: predicates
  { name: "new.password of 6 characters", radl: "system s (\ndisk.0.os.credentials.new.password = 'Ab1!cd'\n)", line: 2, message: "Invalid value in property 'disk.0.os.credentials.new.password'" },
  { name: "new.password without upper case", radl: "system s (\ndisk.0.os.credentials.new.password = 'abcdef1!'\n)", line: 2, message: "Invalid value in property 'disk.0.os.credentials.new.password'" },
  { name: "new.password without a digit", radl: "system s (\ndisk.0.os.credentials.new.password = 'Abcdefg!'\n)", line: 2, message: "Invalid value in property 'disk.0.os.credentials.new.password'" },
  { name: "new.password without a symbol", radl: "system s (\ndisk.0.os.credentials.new.password = 'Abcdefg1'\n)", line: 2, message: "Invalid value in property 'disk.0.os.credentials.new.password'" },
  { name: "ansible_host naming no ansible aspect", radl: "system s (\nansible_host = 'master'\n)", line: 2, message: "Invalid value in property 'ansible_host'" },
  { name: "net_interface.0.connection naming no network", radl: "system s (\nnet_interface.0.connection = 'nowhere'\n)", line: 2, message: "Invalid value in property 'net_interface.0.connection'" },
  { name: "net_interface.0.connection naming a system", radl: "system s (\nnet_interface.0.connection = 's'\n)", line: 2, message: "Invalid value in property 'net_interface.0.connection'" },
  { name: "disk.0.os.version with letters", radl: "system s (\ndisk.0.os.version = '12.x'\n)", line: 2, message: "Invalid value in property 'disk.0.os.version'" },
  { name: "disk.0.os.version with an empty group", radl: "system s (\ndisk.0.os.version >= '7..1'\n)", line: 2, message: "Invalid value in property 'disk.0.os.version'" },
  { name: "disk.1.os.version with a leading dot", radl: "system s (\ndisk.0.os.name = 'linux' and\ndisk.1.os.version = '.1'\n)", line: 3, message: "Invalid value in property 'disk.1.os.version'" },
  { name: "disk.0.os.flavour with >=", radl: "system s (\ndisk.0.os.flavour >= 'ubuntu'\n)", line: 2, message: "Invalid operator; expected '='" },
  // system: other string properties
  { name: "net_interface.0.ip as a number", radl: "network n ()\nsystem s (\nnet_interface.0.connection = 'n' and\nnet_interface.0.ip = 10\n)", line: 4, message: "Invalid type; expected <class 'str'>" },
  { name: "net_interface.0.dns_name as a list", radl: "network n ()\nsystem s (\nnet_interface.0.connection = 'n' and\nnet_interface.0.dns_name = ['a']\n)", line: 4, message: "Invalid type; expected <class 'str'>" },
  { name: "disk.0.image.url as a number", radl: "system s (\ndisk.0.image.url = 1\n)", line: 2, message: "Invalid type; expected (<class 'str'>, <class 'list'>)" },
  { name: "disk.0.image.name as a list", radl: "system s (\ndisk.0.image.name = ['a']\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "disk.1.type as a number", radl: "system s (\ndisk.0.os.name = 'linux' and\ndisk.1.type = 1\n)", line: 3, message: "Invalid type; expected <class 'str'>" },
  { name: "disk.1.device with <", radl: "system s (\ndisk.0.os.name = 'linux' and\ndisk.1.device < 'hdb'\n)", line: 3, message: "Invalid operator; expected '='" },
  { name: "disk.1.mount_path as a number", radl: "system s (\ndisk.0.os.name = 'linux' and\ndisk.1.mount_path = 1\n)", line: 3, message: "Invalid type; expected <class 'str'>" },
  { name: "disk.1.fstype as a number", radl: "system s (\ndisk.0.os.name = 'linux' and\ndisk.1.fstype = 4\n)", line: 3, message: "Invalid type; expected <class 'str'>" },
  { name: "credentials.username as a number", radl: "system s (\ndisk.0.os.credentials.username = 0\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "credentials.password as a list", radl: "system s (\ndisk.0.os.credentials.password = ['a']\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "credentials.private_key as a number", radl: "system s (\ndisk.0.os.credentials.private_key = 1\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "credentials.public_key with >", radl: "system s (\ndisk.0.os.credentials.public_key > 'a'\n)", line: 2, message: "Invalid operator; expected '='" },
  // applications (§5.2: contains; inside name, path, version, preinstalled)
  { name: "disk.0.applications that is not a contains", radl: "system s (\ndisk.0.applications = 'java'\n)", line: 2, message: "Invalid type; expected <class 'radl.radl.Features'>" },
  { name: "application with an empty name", radl: "system s (\ndisk.0.applications contains (\nname = ''\n)\n)", line: 3, message: "Invalid value in property 'name'" },
  { name: "application with a number as name", radl: "system s (\ndisk.0.applications contains (\nname = 1\n)\n)", line: 3, message: "Invalid type; expected <class 'str'>" },
  { name: "application with an empty path", radl: "system s (\ndisk.0.applications contains (name = 'a' and\npath = ''\n)\n)", line: 3, message: "Invalid value in property 'path'" },
  { name: "application with a bad version", radl: "system s (\ndisk.0.applications contains (name = 'a' and\nversion = '1.x'\n)\n)", line: 3, message: "Invalid value in property 'version'" },
  { name: "application preinstalled outside {yes, no}", radl: "system s (\ndisk.0.applications contains (name = 'a' and\npreinstalled = 'maybe'\n)\n)", line: 3, message: "Invalid value; expected one of ['YES', 'NO']" },
  { name: "application with a name operator other than =", radl: "system s (\ndisk.0.applications contains (name >= 'a')\n)", line: 2, message: "Invalid operator; expected '='" },
  // soft groups get the system rules
  { name: "a soft group with a bad cpu.arch", radl: "system s (\ncpu.count >= 1 and\nsoft 10 (\ncpu.arch = 'sparc'\n)\n)", line: 4, message: "Invalid value; expected one of ['I386', 'I686', 'X86_64', 'ARM64', 'AARCH64']" },
  { name: "a soft group with a memory unit on cpu.count", radl: "system s (\nsoft 10 (\ncpu.count >= 2 and\ncpu.count <= 4 GB\n)\n)", line: 4, message: "Invalid unit; expected none" },
  { name: "a soft group with an unknown network", radl: "system s (\nsoft 10 (\nnet_interface.0.connection = 'n'\n)\n)", line: 3, message: "Invalid value in property 'net_interface.0.connection'" },
];

/** The indexed families `net_interface.N.*` and `disk.N.*` (§5.2). */
const INDEXED_CHECKS: Failure[] = [
  { name: "net_interface with a name for index", radl: "network n ()\nsystem s (\nnet_interface.x.connection = 'n'\n)", line: 3, message: "Invalid property name; expected an index." },
  { name: "disk with a name for index", radl: "system s (\ndisk.first.image.url = 'one://h/1'\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "disk.applications without an index", radl: "system s (\ndisk.applications contains (name = 'a')\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "an index with a sign", radl: "system s (\ndisk.-1.size = 1\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "an empty index", radl: "system s (\ndisk..size = 1\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "a bad index in a property without a rule", radl: "system s (\ndisk.x.whatever = 1\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "a family name alone with a bad index", radl: "system s (\nnet_interface.a = 1\n)", line: 2, message: "Invalid property name; expected an index." },
  { name: "a bad index in a soft group", radl: "system s (\nsoft 1 (\ndisk.x.size = 1\n)\n)", line: 3, message: "Invalid property name; expected an index." },
  // Line: the system's (spec [X]).
  { name: "net_interface indices not starting at 0", radl: "network n ()\nsystem s (\nnet_interface.1.connection = 'n'\n)", line: 2, message: "Invalid indices values in properties 'net_interface'" },
  { name: "net_interface indices with a gap", radl: "network n ()\n\nsystem s (\nnet_interface.0.connection = 'n' and\nnet_interface.2.connection = 'n'\n)", line: 3, message: "Invalid indices values in properties 'net_interface'" },
  { name: "disk indices with a gap", radl: "system s (\ndisk.0.image.url = 'one://h/1' and\ndisk.2.size = 10 G\n)", line: 1, message: "Invalid indices values in properties 'disk'" },
  { name: "disk indices not starting at 0", radl: "system s (\ndisk.1.size = 10 G\n)", line: 1, message: "Invalid indices values in properties 'disk'" },
  { name: "an interface with an ip and no connection", radl: "network n ()\nsystem s (\nnet_interface.0.ip = '10.0.0.1'\n)", line: 2, message: "Some net_interface does not have a connection" },
  { name: "a second interface with no connection", radl: "network n ()\nsystem s (\nnet_interface.0.connection = 'n' and\nnet_interface.1.dns_name = 'host'\n)", line: 2, message: "Some net_interface does not have a connection" },
];

/** §5.2 ansible, deploy, configure and contextualize. */
const ASPECT_CHECKS: Failure[] = [
  { name: "ansible without host", radl: "\nansible a (\ncredentials.username = 'u' and\ncredentials.password = 'p'\n)", line: 2, message: "Ansible host must have a host" },
  { name: "ansible without username", radl: "ansible a (\nhost = 'h' and\ncredentials.password = 'p'\n)", line: 1, message: "Ansible host must have a credentials.username" },
  { name: "ansible without password or key", radl: "ansible a (\nhost = 'h' and\ncredentials.username = 'u'\n)", line: 1, message: "Ansible host must have a credentials.password or credentials.private_key" },
  { name: "ansible host as a number", radl: "ansible a (\nhost = 1 and\ncredentials.username = 'u' and\ncredentials.password = 'p'\n)", line: 2, message: "Invalid type; expected <class 'str'>" },
  { name: "ansible credentials.private_key as a list", radl: "ansible a (\nhost = 'h' and\ncredentials.username = 'u' and\ncredentials.private_key = ['k']\n)", line: 4, message: "Invalid type; expected <class 'str'>" },
  { name: "deploy of an undefined system", radl: "system s ()\ndeploy s 1\ndeploy t 1", line: 3, message: "Invalid system id in the deploy." },
  { name: "deploy of a network id", radl: "network n ()\ndeploy n 1", line: 2, message: "Invalid system id in the deploy." },
  { name: "deploy of a fractional number of VMs", radl: "system s ()\ndeploy s 1.5", line: 2, message: "Invalid number of virtual machines to deploy." },
  { name: "configure with a YAML error", radl: "configure c (\n@begin\n- a: [\n@end\n)", line: 1, message: /^Invalid YAML code: .+\.$/ },
  { name: "configure with a tab-indented YAML", radl: "system s ()\nconfigure c (\n@begin\n- a:\n\t- b\n@end\n)", line: 2, message: /^Invalid YAML code: .+\.$/ },
  // The position is within the recipe, whose line 1 is the rest of the `@begin` line.
  { name: "configure with a YAML error says where in the recipe", radl: "configure c (\n@begin\n- a: b: c\n@end\n)", line: 1, message: "Invalid YAML code: Nested mappings are not allowed in compact mappings at line 2, column 6." },
  // The spec's "<parser message>" is the yaml package's; this one is the code's own (a stream of two documents).
  { name: "configure with two YAML documents", radl: "configure c (\n@begin\n---\n- a\n---\n- b\n@end\n)", line: 1, message: "Invalid YAML code: expected a single document in the stream, but found another document." },
  { name: "contextualize with a fractional max time", radl: "system s ()\ncontextualize 1.5 ()", line: 2, message: "Invalid 'max time' in 'contextualize'" },
  { name: "contextualize item with an unknown system", radl: "system s ()\nconfigure c ()\ncontextualize (\nsystem s configure c\nsystem x configure c step 2\n)", line: 5, message: "Invalid system id 'x'" },
  { name: "contextualize item with an unknown configure", radl: "system s ()\ncontextualize (\n\nsystem s configure c with Ansible\n)", line: 4, message: "Invalid configure id 'c'" },
  { name: "contextualize item naming a network", radl: "network n ()\nconfigure c ()\ncontextualize (\nsystem n configure c\n)", line: 4, message: "Invalid system id 'n'" },
];

/** Errors found while building the model (§3.1, §3.2): reported by the parser. */
const PARSE_ERRORS: Failure[] = [
  { name: "two systems with the same id", radl: "system s (\ncpu.count = 1\n)\nsystem s (\ncpu.count = 2\n)", line: 4, message: "Aspect with the same id was found." },
  { name: "a system definition after its reference", radl: "system s\nsystem s ()", line: 2, message: "Aspect with the same id was found." },
  { name: "a network reference after its definition", radl: "network n ()\n\nnetwork n", line: 3, message: "Aspect with the same id was found." },
  { name: "two configures with the same id", radl: "configure c ()\nconfigure c (\n@begin\n---\n@end\n)", line: 2, message: "Aspect with the same id was found." },
  { name: "two ansible hosts with the same id", radl: "ansible a (host = 'h')\nansible a (host = 'i')", line: 2, message: "Aspect with the same id was found." },
  // The spec only asks for an error at the line of the second description; the code reuses the duplicate-id message.
  { name: "a second description", radl: "description d (name = 'a')\ndescription e (name = 'b')", line: 2, message: "Aspect with the same id was found." },
  { name: "disjoint equalities", radl: "system s (\ncpu.count = 1 and\ncpu.count = 2\n)", line: 3, message: "Disjoint intervals!. Involved features: ['cpu.count = 1', 'cpu.count = 1']" },
  { name: "a lower bound above the upper bound", radl: "system s (\ncpu.count <= 2 and\ncpu.count >= 3\n)", line: 3, message: "Disjoint intervals!. Involved features: ['None', 'cpu.count <= 2']" },
  { name: "disjoint intervals compared in base units", radl: "system s (\nmemory.size >= 2G and\nmemory.size <= 1024M\n)", line: 3, message: "Disjoint intervals!. Involved features: ['memory.size >= 2G', 'None']" },
  { name: "disjoint intervals in a soft group", radl: "system s (\nsoft 1 (\ncpu.count > 4 and\n\ncpu.count < 2\n)\n)", line: 5, message: "Disjoint intervals!. Involved features: ['cpu.count > 4', 'None']" },
  { name: "two different strings", radl: "system s (\ncpu.arch = 'x86_64' and\ncpu.arch = 'i686'\n)", line: 3, message: "Conflict adding `cpu.arch = 'i686'` because `cpu.arch = 'x86_64'` is already set and conflict is error" },
  { name: "two different lists", radl: "system s (\ncommand = ['a'] and\ncommand = ['a','b']\n)", line: 3, message: "Conflict adding `command = ['a','b']` because `command = ['a']` is already set and conflict is error" },
  { name: "a string after a number", radl: "system s (\ncpu.count >= 1 and\ncpu.count = 'two'\n)", line: 3, message: "Conflict adding `cpu.count = 'two'` because `cpu.count >= 1` is already set and conflict is error" },
  { name: "a number after a string", radl: "network n (\noutbound = 'yes' and\noutbound = 1\n)", line: 3, message: "Conflict adding `outbound = 1` because `outbound = 'yes'` is already set and conflict is error" },
  { name: "a contains after a string", radl: "system s (\napps = 'a' and\napps contains (name = 'a')\n)", line: 3, message: "Conflict adding `apps contains (name = 'a')` because `apps = 'a'` is already set and conflict is error" },
  { name: "the same application with two versions", radl: "system s (\ndisk.0.applications contains (name = 'java' and version = '8') and\ndisk.0.applications contains (name = 'java' and\nversion = '11')\n)", line: 4, message: "Conflict adding `version = '11'` because `version = '8'` is already set and conflict is error" },
  { name: "a duplicated dns_name (examples/glusterfs.radl)", radl: "network n ()\nsystem s (\nnet_interface.0.connection = 'n' and\nnet_interface.0.dns_name = 'a' and\nnet_interface.0.dns_name = 'b'\n)", line: 5, message: "Conflict adding `net_interface.0.dns_name = 'b'` because `net_interface.0.dns_name = 'a'` is already set and conflict is error" },
];

/** Errors of RADL-JSON documents carry no line (§7.2). */
const JSON_CHECKS: { name: string; json: unknown[]; message: string }[] = [
  { name: "a negative number of VMs", json: [{ class: "system", id: "s" }, { class: "deploy", system: "s", vm_number: -1 }], message: "Invalid number of virtual machines to deploy." },
  // (A negative max time never reaches check: merging into the document keeps the maximum with 0, see model.test.ts.)
  { name: "a fractional max time", json: [{ class: "contextualize", max_time: 1.5, items: [] }], message: "Invalid 'max time' in 'contextualize'" },
  { name: "a bad cpu.arch", json: [{ class: "system", id: "s", "cpu.arch": "sparc" }], message: "Invalid value; expected one of ['I386', 'I686', 'X86_64', 'ARM64', 'AARCH64']" },
  { name: "a negative cpu.count", json: [{ class: "system", id: "s", "cpu.count_min": -1 }], message: "Invalid value in property 'cpu.count'" },
  { name: "a negative memory.size", json: [{ class: "system", id: "s", "memory.size_max": -512 }], message: "Invalid value in property 'memory.size'" },
  { name: "a negative price", json: [{ class: "system", id: "s", price: -0.5 }], message: "Invalid value in property 'price'" },
  { name: "a negative disk size", json: [{ class: "system", id: "s", "disk.0.size": -1 }], message: "Invalid value in property 'disk.0.size'" },
  { name: "a negative cpu.performance", json: [{ class: "system", id: "s", "cpu.performance": -1 }], message: "Invalid value in property 'cpu.performance'" },
  { name: "a negative gpu.count", json: [{ class: "system", id: "s", "gpu.count": -1 }], message: "Invalid value in property 'gpu.count'" },
  { name: "an unknown network", json: [{ class: "system", id: "s", "net_interface.0.connection": "n" }], message: "Invalid value in property 'net_interface.0.connection'" },
  { name: "an invalid recipe", json: [{ class: "configure", id: "c", recipes: "---\n- a\n---\n- b\n" }], message: "Invalid YAML code: expected a single document in the stream, but found another document." },
  { name: "a recipe with a YAML error", json: [{ class: "configure", id: "c", recipes: "- a: b: c" }], message: "Invalid YAML code: Nested mappings are not allowed in compact mappings at line 1, column 6." },
  { name: "an item of an unknown system", json: [{ class: "configure", id: "c", recipes: "" }, { class: "contextualize", items: [{ system: "s", configure: "c" }] }], message: "Invalid system id 's'" },
];

/** Documents that must pass (§5.2 and the [T]/[X] decisions). */
const VALID: { name: string; radl: string }[] = [
  { name: "float cpu.count", radl: "system s (\ncpu.count >= 0.5 and\ncpu.count <= 1.0 and\ngpu.count = 1 and\nprice <= 0.25\n)" },
  { name: "cpu.count written 1.", radl: "system s ( cpu.count = 1. )" },
  { name: "version operators on disk.0.os.version", radl: "system s ( disk.0.os.version >= '12.04' )\nsystem t ( disk.0.os.version < '8' )\nsystem u ( disk.0.os.version <= '7.1.2' )\nsystem v ( disk.0.os.version > '1' )" },
  { name: "an empty version", radl: "system s ( disk.0.os.version = '' )" },
  { name: "version operators inside an application", radl: "system s ( disk.0.applications contains (name = 'java' and version >= '1.8' and preinstalled = 'YES' and path = '/opt/java') )" },
  { name: "free properties with version in the name accept any operator", radl: "system s ( x_version < 'abc' )" },
  { name: "every cpu.arch, any case", radl: "system a ( cpu.arch = 'arm64' )\nsystem b ( cpu.arch = 'aarch64' )\nsystem c ( cpu.arch = 'I686' )\nsystem d ( cpu.arch = 'i386' )\nsystem e ( cpu.arch = 'X86_64' )" },
  { name: "enumerations are case-insensitive", radl: "network n ( outbound = 'YES' )\nsystem s ( spot = 'No' and image_type = 'QCOW2' and disk.0.os.name = 'Mac OS X' )" },
  { name: "configure x ()", radl: "configure x ()\nconfigure y ( )\nconfigure z (\n)" },
  { name: "an empty recipe between @begin and @end", radl: "configure x (\n@begin\n@end\n)" },
  { name: "a recipe with only comments", radl: "configure x (\n@begin\n# nothing to do\n@end\n)" },
  // PyYAML, and so the reference, keeps the last value of a key given twice.
  { name: "a recipe with a key given twice", radl: "configure x (\n@begin\n- hosts: all\n  hosts: web\n  vars: {a: 1, a: 2}\n@end\n)" },
  { name: "a recipe beyond the fast check with a key given twice", radl: "configure x (\n@begin\n- vars: &v {a: 1}\n  vars: *v\n@end\n)" },
  { name: "a configure reference", radl: "configure x" },
  { name: "step and with in one item", radl: "system s ()\nconfigure c ()\nconfigure d ()\ncontextualize 600 (\noption ansible_version = '2.9.0'\nsystem s configure c step 1 with cloud_init\nsystem s configure d with Ansible\n)" },
  { name: "contextualize ()", radl: "contextualize ()" },
  { name: "memory units in any case", radl: "system s (\nmemory.size >= 2GI and\ndisk.0.size = 20gb and\ndisk.1.size >= 512MiB and\ndisk.2.free_size = 1 kib and\ndisk.3.size = 4g\n)" },
  { name: "memory.size in bytes (no unit) and in B", radl: "system s ( memory.size >= 536870912 )\nsystem t ( memory.size >= 512 b )" },
  { name: "cpu.performance units in any case", radl: "system s ( cpu.performance >= 2 ecu )\nsystem t ( cpu.performance >= 2 Gceu )\nsystem u ( cpu.performance >= 2 hrz )" },
  { name: "the outports of §4.3.1", radl: "network a ( outports = '8080,9000:9100' )\nnetwork b ( outports = '0.0.0.0/24-8899/tcp-8899/tcp,22/tcp-22/tcp' )\nnetwork c ( outports = '8899/tcp,22/udp' )\nnetwork d ( outports = '10.0.1.0/24-1194/udp-1194/udp' )\nnetwork e ( outports = '1:4/tcp' )\nnetwork f ( outports = '38080-8080' )\nnetwork g ( outports = '105986-5986,0/icmp,22-30,9100:9000' )" },
  { name: "a strong new password", radl: "system s ( disk.0.os.credentials.new.password = 'Abcde1!' )" },
  { name: "an ansible host with a private key only", radl: "ansible a (\nhost = 'h' and\ncredentials.username = 'u' and\ncredentials.private_key = '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----'\n)\nsystem s ( ansible_host = 'a' )" },
  { name: "a system and a network with the same id", radl: "network front ()\nsystem front ( net_interface.0.connection = 'front' )" },
  { name: "references count as definitions", radl: "network n\nsystem s\nconfigure c\nsystem t ( net_interface.0.connection = 'n' )\ndeploy s 2\ncontextualize ( system s configure c )" },
  { name: "deploy of 0 VMs and a cloud id", radl: "system s ()\ndeploy s 0\ndeploy s 1 cloud-1\ndeploy s 1 cloud-1" },
  { name: "indices of properties without a rule do not count", radl: "system s (\ndisk.0.image.url = ['one://h/1', 'ost://h/2'] and\ndisk.3.foo = 'x' and\nnet_interface.4.bar = 1\n)" },
  { name: "disks.free_size is not the disk family", radl: "system s ( disks.free_size = 3.92GB )" },
  { name: "several interfaces and data disks", radl: "network pub ( outbound = 'yes' )\nnetwork priv ()\nsystem s (\nnet_interface.0.connection = 'pub' and\nnet_interface.0.dns_name = 'front-#N#.example.org' and\nnet_interface.1.connection = 'priv' and\nnet_interface.1.ip = '10.0.0.1' and\ndisk.0.os.name = 'linux' and\ndisk.1.size = 10G and\ndisk.1.type = 'ssd' and\ndisk.1.mount_path = '/mnt' and\ndisk.1.device = 'hdb' and\ndisk.1.fstype = 'ext4'\n)" },
  { name: "the same string twice", radl: "system s (\ncpu.arch = 'x86_64' and\ncpu.arch = 'x86_64'\n)" },
  { name: "touching intervals", radl: "system s (\ncpu.count >= 5 and\ncpu.count <= 5 and\nmemory.size > 1G and\nmemory.size < 1000M\n)" },
  { name: "two applications", radl: "system s (\ndisk.0.applications contains (name = 'a') and\ndisk.0.applications contains (name = 'b')\n)" },
  { name: "soft groups that pass the rules", radl: "system s (\ncpu.count >= 1 and\nsoft 10 ( cpu.count >= 2 and memory.size >= 2Gi and cpu.arch = 'x86_64' ) and\nsoft 5 ( disk.0.os.flavour = 'ubuntu' and disk.0.os.version >= '20.04' )\n)" },
  { name: "index gaps inside a soft group", radl: "system s (\ndisk.0.image.url = 'one://h/1' and\nsoft 1 ( disk.5.size = 1G )\n)" },
  { name: "free properties named like members of Object.prototype", radl: "system s (\nconstructor = 5 and\ntoString = 'x' and\n__proto__ contains (name = 'a') and\nhasOwnProperty = ['a'] and\ndisk.0.constructor = 1 and\ndisk.0.__proto__ = 'x' and\nconstructor.0.x = 1 and\nvalueOf.x = 2\n)" },
  { name: "unknown features are accepted", radl: "description d ( name = 'infra' and namespace = 'ns' and owner = 'me' )\nnetwork n ( create = 'yes' and cidr = '10.*.*.0/24' and sg_name = 'sg' and router = '0.0.0.0/0,s' )\nsystem s ( instance_tags = 'a=b,c=d' and environment.variables = ['A=1'] and alpine = 0 )" },
];

function failure(radl: string): RadlError {
  try {
    checkRadl(parseRadl(radl));
  } catch (error) {
    if (error instanceof RadlError) return error;
    throw error;
  }
  assert.fail("the document passes check");
}

function runFailures(rows: Failure[]): void {
  for (const row of rows) {
    test(row.name, () => {
      const error = failure(row.radl);
      if (typeof row.message === "string") assert.equal(error.detail, row.message);
      else assert.match(error.detail, row.message);
      assert.equal(error.line, row.line, error.message);
      assert.equal(error.message, row.line ? `Line ${row.line}: ${error.detail}` : error.detail);
    });
  }
}

describe("check (spec §5) and parse-time model errors (§3.1-3.2)", () => {
  test("every row names a distinct case", () => {
    const names = [...FEATURE_CHECKS, ...INDEXED_CHECKS, ...ASPECT_CHECKS, ...PARSE_ERRORS, ...JSON_CHECKS, ...VALID].map((row) => row.name);
    assert.equal(new Set(names).size, names.length);
  });

  describe("§5.1 per-feature checks", () => runFailures(FEATURE_CHECKS));
  describe("§5.2 indexed families", () => runFailures(INDEXED_CHECKS));
  describe("§5.2 ansible, deploy, configure, contextualize", () => runFailures(ASPECT_CHECKS));
  describe("§3.1-3.2 errors while building the model", () => runFailures(PARSE_ERRORS));

  describe("RADL-JSON errors have no line", () => {
    for (const row of JSON_CHECKS) {
      test(row.name, () => {
        assert.throws(
          () => checkRadl(parseRadlJson(JSON.stringify(row.json))),
          (error: unknown) => error instanceof RadlError && error.line === null && error.detail === row.message && error.message === row.message,
        );
      });
    }
  });

  describe("documents that pass", () => {
    for (const row of VALID) {
      test(row.name, () => {
        const radl = parseRadl(row.radl);
        checkRadl(radl);
        checkRadl(parseRadl(radl.toString()));
      });
    }
  });

  describe("the order of the checks (§5.2: networks, ansible hosts, systems, deploys, configures, contextualize)", () => {
    // Each error sits in an aspect written before the ones that are checked earlier; `offset`
    // is the line of the error within the aspect (a feature or item line, or the aspect's own).
    const errors = [
      { text: "contextualize (\nsystem nobody configure c\n)", offset: 1, message: "Invalid system id 'nobody'" },
      { text: "configure bad (\n@begin\n---\n- a\n---\n- b\n@end\n)", offset: 0, message: "Invalid YAML code: expected a single document in the stream, but found another document." },
      { text: "deploy nobody 1", offset: 0, message: "Invalid system id in the deploy." },
      { text: "system s (\ncpu.arch = 'sparc'\n)", offset: 1, message: "Invalid value; expected one of ['I386', 'I686', 'X86_64', 'ARM64', 'AARCH64']" },
      { text: "ansible a (\nhost = 'h'\n)", offset: 0, message: "Ansible host must have a credentials.username" },
      { text: "network n (\noutbound = 'maybe'\n)", offset: 1, message: "Invalid value; expected one of ['YES', 'NO']" },
    ];
    for (let count = errors.length; count > 0; count--) {
      const failing = errors[count - 1];
      test(`${failing.message} (${count} kinds of error present)`, () => {
        const document = ["configure c ()", ...errors.slice(0, count).map((e) => e.text)].join("\n");
        const error = failure(document);
        assert.equal(error.detail, failing.message);
        const aspectLine = document.slice(0, document.indexOf(failing.text)).split("\n").length;
        assert.equal(error.line, aspectLine + failing.offset);
      });
    }

    test("within a system, the plain rules come before the indexed families", () => {
      const error = failure("network n ()\nsystem s (\nnet_interface.1.connection = 'n' and\ncpu.count = 'x'\n)");
      assert.equal(error.detail, "Invalid type; expected <class 'float'>");
      assert.equal(error.line, 4);
    });

    test("within a system, the first feature in listing order wins", () => {
      const error = failure("system s (\ncpu.arch = 'sparc' and\nspot = 'maybe'\n)");
      assert.equal(error.line, 2);
    });

    test("within a feature: type, then operator, then value, then unit", () => {
      assert.equal(failure("network n ( outbound >= 1 )").detail, "Invalid type; expected <class 'str'>");
      assert.equal(failure("network n ( outbound >= 'maybe' )").detail, "Invalid operator; expected '='");
      assert.equal(failure("system s ( memory.size >= 1 parsec )").detail, `Invalid unit; expected one of ${MEMORY_UNITS}`);
    });
  });
});
