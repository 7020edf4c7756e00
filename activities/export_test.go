package activities

// Take is take, for the tests of package activities_test.
func (t *TenantShares) Take(tenant string) (release func(), ok bool) { return t.take(tenant) }
