/*
 * names.c: name and e-mail domain lists for simulated users.  Emails also
 * carry a token derived from a keyed permutation of the user, so they are
 * unique by construction however often names repeat.
 */
#include "names.h"

const char *const elt_first_names[] = {
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael",
	"Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan",
	"Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher",
	"Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra",
	"Mark", "Margaret", "Donald", "Ashley", "Steven", "Kimberly", "Andrew",
	"Emily", "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol",
	"Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy",
	"Stephanie", "Ronald", "Rebecca", "Jason", "Sharon", "Edward", "Laura",
	"Jeffrey", "Cynthia", "Ryan", "Amy", "Jacob", "Kathleen", "Gary",
	"Angela", "Nicholas", "Shirley", "Eric", "Brenda", "Jonathan", "Emma",
	"Stephen", "Anna", "Larry", "Pamela", "Justin", "Nicole", "Scott",
	"Samantha", "Brandon", "Katherine", "Benjamin", "Christine", "Samuel",
	"Helen", "Gregory", "Debra", "Alexander", "Rachel", "Patrick", "Carolyn",
	"Frank", "Janet", "Raymond", "Maria", "Jack", "Olivia", "Dennis",
	"Heather", "Jerry", "Diane", "Wei", "Mei", "Hiroshi", "Yuki", "Arjun",
	"Priya", "Mohammed", "Fatima", "Carlos", "Sofia", "Luca", "Giulia",
	"Lukas", "Lena", "Mateo", "Valentina", "Kwame", "Amara", "Noah", "Chloe",
	"Liam", "Isla", "Ahmed", "Leila", "Ivan", "Olga", "Pierre", "Camille",
	"Jan", "Eva", "Sven", "Ingrid", "Diego", "Lucia", "Ravi", "Ananya",
	"Chen", "Lin", "Kenji", "Sakura", "Omar", "Zara", "Tomas", "Ana",
};

const char *const elt_last_names[] = {
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
	"Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
	"Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
	"Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
	"Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
	"Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
	"Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker",
	"Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
	"Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox",
	"Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James",
	"Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
	"Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster",
	"Jimenez", "Wang", "Li", "Zhang", "Liu", "Chen", "Yamamoto", "Tanaka",
	"Suzuki", "Sato", "Singh", "Kumar", "Shah", "Khan", "Ali", "Hassan",
	"Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi", "Russo",
	"Ferrari", "Bianchi", "Dubois", "Bernard", "Moreau", "Laurent", "Silva",
	"Santos", "Oliveira", "Costa", "Pereira", "Novak", "Kowalski", "Nowak",
	"Larsen", "Hansen", "Johansson", "Nielsen", "Okafor", "Mensah", "Mwangi",
};

const char *const elt_email_domains[] = {
	"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
	"proton.me", "example.com", "example.org", "example.net", "fastmail.com",
};

const int	elt_n_first_names = 144;
const int	elt_n_last_names = 143;
const int	elt_n_email_domains = 10;
