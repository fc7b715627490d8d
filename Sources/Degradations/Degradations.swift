// Degradations
