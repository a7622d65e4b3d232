"""The DMP mock: IHE XDS.b (ITI-41/18/43/57) with the DMP's rules, TD0.2/TD0.3. See docs/dmp.md."""
