"""What the manifest says about the CPU a run computed on."""
from pipeline import machine

INTEL = """processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+
flags		: fpu sse4_1 sse4_2 avx avx2 fma avx512f avx512_vnni amx_int8 ht

processor	: 1
model name	: Intel(R) Xeon(R) Platinum 8480+
flags		: fpu sse4_1 sse4_2 avx avx2 fma avx512f avx512_vnni amx_int8 ht
"""
AMD = INTEL.replace("Intel(R) Xeon(R) Platinum 8480+", "AMD EPYC 7B12").replace(" avx512f avx512_vnni amx_int8", "")
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp sve\nCPU part\t: 0xd40\n"


def test_the_cpus_model_and_kernel_instruction_sets(tmp_path):
    (tmp_path / "intel").write_text(INTEL)
    (tmp_path / "amd").write_text(AMD)
    (tmp_path / "arm").write_text(ARM)
    intel, amd, arm = (machine.describe(tmp_path / name) for name in ("intel", "amd", "arm"))
    assert intel["cpu"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert intel["isa"] == ["sse4_1", "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512_vnni", "amx_int8"]
    assert amd["cpu"] == "AMD EPYC 7B12" and amd["isa"] == ["sse4_1", "sse4_2", "avx", "fma", "avx2"]
    assert arm["isa"] == ["asimd", "asimddp", "sve"]
    assert intel["cpus"] == amd["cpus"] == machine.usable_cpus() >= 1
    assert len({intel["fingerprint"], amd["fingerprint"], arm["fingerprint"]}) == 3
    assert machine.describe(tmp_path / "intel")["fingerprint"] == intel["fingerprint"]


def test_without_proc_cpuinfo_the_platform_says_what_it_knows(tmp_path):
    about = machine.describe(tmp_path / "missing")
    assert about["isa"] == [] and about["cpu"] and about["arch"] is not None and len(about["fingerprint"]) == 12
