package world

// AddAccountLocked registers an account.
func (w *World) AddAccountLocked(cloud, id, name, region string) *Account {
	a := &Account{ID: id, Name: name, Cloud: cloud, Region: region}
	w.Accounts[id] = a
	return a
}
