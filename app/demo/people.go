package demo

import "fmt"

type customer struct {
	waID, name, company string
}

// baseCustomers are the demo's best-known customers (leads, tasks and companies name them).
var baseCustomers = []customer{
	{"51987654321", "María José Quispe", "Constructora Andina SAC"},
	{"5215512345678", "Carlos Díaz", "Logística del Valle"},
	{"573001234567", "Valentina Gómez", "Clínica Santa Fe"},
	{"5491123456789", "Martín Fernández", "Estudio Fernández & Asoc."},
	{"56912345678", "Camila Rojas", "Viña Los Robles"},
	{"51912345678", "Jorge Huamán", "Ferretería El Progreso"},
	{"5218112345678", "Daniela Herrera", "Grupo Monterrey Textil"},
	{"573104567890", "Andrés Castillo", "AgroExport Caribe"},
	{"5493511234567", "Lucía Romero", "Córdoba Software"},
	{"51998877665", "Rosa Mamani", "Minera Sur"},
	{"5215587654321", "Alejandro Ruiz", "Farmacias Ruiz"},
	{"573157654321", "Sofía Morales", "Colegio San Ignacio"},
	{"56987654321", "Diego Soto", "Transportes Austral"},
	{"51955544433", "Patricia Vargas", "Hotel Miraflores Park"},
	{"5491198765432", "Federico Pérez", "Distribuidora Patagonia"},
	{"51944433322", "Luis Alberto Chávez", "Inmobiliaria Los Pinos"},
	{"5213312345678", "Gabriela Navarro", "Tequilera Jalisco"},
	{"573201112233", "Juan Pablo Restrepo", "Café de Altura"},
	{"51933322211", "Ana Lucía Torres", "Estudio Contable Torres"},
	{"56911122233", "Ignacio Muñoz", "Salmones del Pacífico"},
	{"51922211100", "Fernando Salas", "Panificadora Salas"},
	{"5215511122233", "Mariana López", "Academia de Idiomas Norte"},
	{"573009998877", "Felipe Ospina", "Ospina Ingeniería"},
	{"51966655544", "Carmen Rosa Flores", "Boutique Flores"},
}

// customers are the base customers and, after them, Peruvian customers made up from
// small vocabularies (deterministic: the same list on every run).
var customers = func() []customer {
	first := []string{"Milagros", "Renzo", "Katherine", "César", "Giuliana", "Walter", "Roxana", "Gustavo", "Pamela", "Raúl",
		"Yesenia", "Óscar", "Claudia", "Hugo", "Melissa", "Víctor", "Fiorella", "Edwin", "Lorena", "Manuel"}
	last := []string{"Ccori", "Villanueva", "Espinoza", "Cárdenas", "Palomino", "Rivas", "Zegarra", "Alvarado", "Condori", "Benavides",
		"Montoya", "Huertas", "Tello", "Aguilar"}
	kinds := []string{"Distribuidora", "Ferretería", "Clínica Dental", "Inversiones", "Textiles", "Librería", "Transportes", "Consultora",
		"Agroindustrias", "Laboratorio"}
	places := []string{"San Martín", "Los Olivos", "Arequipa Sur", "del Norte", "Chiclayo", "Santa Anita", "Surco", "Huancayo",
		"La Molina", "Piura", "Trujillo", "Callao"}
	out := append([]customer{}, baseCustomers...)
	for i := 0; i < 120; i++ {
		c := customer{
			waID: fmt.Sprintf("51976%06d", 100000+(i*7331)%900000),
			name: first[i%len(first)] + " " + last[(i/len(first)+i)%len(last)],
		}
		if i%4 != 3 { // a quarter write for themselves
			c.company = kinds[(i*3)%len(kinds)] + " " + places[(i*5)%len(places)]
		}
		out = append(out, c)
	}
	return out
}()
